"""Assembles each turn's record, with its latency breakdown, from the events of the turn."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from core.events import (
    AudioOut,
    BargeIn,
    CallerCorrected,
    CallerSaid,
    Event,
    FirstToken,
    ReplyDone,
    ReplyStarted,
    ReplyText,
    SpeechDone,
    ToolCalled,
    TurnCompleted,
    TurnCorrected,
)
from core.records import Latency, ToolCallRecord, TurnRecord
from core.security.cards import scrub
from core.store.database import utcnow


@dataclass(slots=True)
class _Open:
    caller: CallerSaid | None
    started: Any = field(default_factory=utcnow)
    llm_first_token: float | None = None
    first_text_wall: float | None = None
    first_audio_wall: float | None = None
    filler_audio_wall: float | None = None
    done: ReplyDone | None = None
    tools: list[ToolCallRecord] = field(default_factory=list)
    interrupted: bool = False


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


class TurnTracker:
    def __init__(self, publish: Callable[[Event], None]) -> None:
        self._publish = publish
        self._open: dict[int, _Open] = {}
        self.turns: list[TurnRecord] = []
        self._callers: dict[int, CallerSaid] = {}  # each finished turn's caller words, by turn

    def handle(self, event: Event) -> None:
        if isinstance(event, CallerCorrected):
            self._correct(event)
            return
        if isinstance(event, BargeIn):
            for talked_over in self._open.values():
                talked_over.interrupted = True
            return
        if isinstance(event, ReplyStarted):
            self._open[event.turn] = _Open(caller=event.caller)
            return
        turn = self._open.get(getattr(event, "turn", -1))
        if turn is None:
            return
        if isinstance(event, FirstToken):
            turn.llm_first_token = round(event.ms, 1)
        elif isinstance(event, ReplyText) and not event.filler and turn.first_text_wall is None:
            turn.first_text_wall = event.wall
        elif isinstance(event, AudioOut) and event.first:
            turn.first_audio_wall = event.wall
        elif isinstance(event, AudioOut) and event.filler and turn.filler_audio_wall is None:
            turn.filler_audio_wall = event.wall
        elif isinstance(event, ToolCalled):
            turn.tools.append(event.record)
        elif isinstance(event, ReplyDone):
            turn.done = event
        elif isinstance(event, SpeechDone):
            del self._open[event.turn]
            record = self._record(event.turn, turn)
            self.turns.append(record)
            if turn.caller is not None:
                self._callers[event.turn] = turn.caller
            self._publish(TurnCompleted(record))

    def _correct(self, event: CallerCorrected) -> None:
        for turn in self._open.values():
            if turn.caller is event.was:
                turn.caller = event.now
                if turn.done is not None and turn.done.plan is not None:
                    turn.done = dataclasses.replace(turn.done, plan=scrub(turn.done.plan, event.removed))
                return
        for idx, said in self._callers.items():
            if said is event.was:
                self._callers[idx] = event.now
                at = next(n for n, record in enumerate(self.turns) if record.idx == idx)
                fixed = msgspec.structs.replace(
                    self.turns[at], caller=event.now.text, plan=scrub(self.turns[at].plan, event.removed)
                )
                self.turns[at] = fixed
                self._publish(TurnCorrected(fixed))
                return

    def _record(self, idx: int, turn: _Open) -> TurnRecord:
        said, done = turn.caller, turn.done
        latency = Latency(llm_first_token=turn.llm_first_token)
        if turn.first_audio_wall is not None and turn.first_text_wall is not None:
            latency.tts_first_audio = _ms(turn.first_audio_wall - turn.first_text_wall)
        if said is not None:
            latency.stt = None if said.stt_ms is None else round(said.stt_ms, 1)
            waited = 0.0
            if said.speech_end is not None and said.endpoint_at is not None:
                waited = said.endpoint_at - said.speech_end
                latency.endpoint = _ms(waited)
            if turn.first_audio_wall is not None:
                latency.voice_to_voice = _ms(waited + turn.first_audio_wall - said.endpoint_wall)
            if turn.filler_audio_wall is not None:
                latency.filler_audio = _ms(waited + turn.filler_audio_wall - said.endpoint_wall)
        return TurnRecord(
            idx=idx,
            started_at=turn.started,
            source=said.source if said else (done.intent if done and done.intent else "assistant"),
            caller=said.text if said else None,
            reply=done.text if done else "",
            intent=done.intent if done else None,
            interrupted=turn.interrupted,
            latency_ms=latency,
            tool_calls=turn.tools,
            plan=done.plan if done else None,
        )
