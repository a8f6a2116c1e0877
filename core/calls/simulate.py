"""A call from recorded audio or typed text, through the same ``CallSession`` a phone call uses.

The transport here is a phone line made of a file: caller audio goes in as 20 ms frames at the line's rate, and
the assistant's audio comes out of the playout buffer one frame per input frame, as a real line would play it.
With ``realtime`` the frames are paced at wall-clock speed. Without it they go in as fast as the session takes
them, and the caller falls silent while the assistant works, exactly as a person waiting would, so the silence
the endpointer waits for is still counted in audio time and both modes report comparable latency. The reply is
not played out, but what runs while a caller would listen to it (preparing the next turn) is waited for.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import msgspec
import numpy as np

from core.audio import decode_wav, encode_wav, frame_samples
from core.calls.line import Line
from core.calls.session import CallSession
from core.errors import InputError
from core.events import AudioOut, Event
from core.records import CallRecord, Latency, ToolCallRecord, TurnRecord
from models.interfaces import Pcm16

if TYPE_CHECKING:
    from core.calls.host import CallHost

_GAP_S = 0.3  # silence between replies in the written reply audio
_MAX_WAIT_S = 300.0  # a reply that takes longer than this is a fault, not a slow turn


@dataclass(frozen=True, slots=True)
class CallerTurn:
    """What the caller does next: speak a recording, type a line, or press a key."""

    audio: Pcm16 | None = None
    text: str | None = None
    dtmf: str | None = None


@dataclass(frozen=True, slots=True)
class Simulation:
    call: CallRecord
    turns: list[TurnRecord]
    reply_audio: Pcm16


class _ReplyAudio:
    def __init__(self, rate: int) -> None:
        self.pieces: list[Pcm16] = []
        self._gap = np.zeros(int(_GAP_S * rate), dtype=np.int16)
        self._turn = -1

    def handle(self, event: Event) -> None:
        if isinstance(event, AudioOut):
            if event.turn != self._turn and self.pieces:
                self.pieces.append(self._gap)
            self._turn = event.turn
            self.pieces.append(event.pcm)

    def audio(self) -> Pcm16:
        return np.concatenate(self.pieces) if self.pieces else np.zeros(0, dtype=np.int16)


class FileLine(Line):
    def __init__(self, session: CallSession, realtime: bool) -> None:
        super().__init__(session.playout, session.feed, session=session)
        self._session = session
        self._realtime = realtime
        self._frame = frame_samples(session.rate)
        self._silence = np.zeros(self._frame, dtype=np.int16)
        self._next_tick = 0.0

    async def speak(self, audio: Pcm16) -> None:
        """Play the caller's recording into the call, then stay silent until the assistant has answered."""
        for start in range(0, audio.size, self._frame):
            frame = audio[start : start + self._frame]
            if frame.size < self._frame:
                frame = np.concatenate([frame, self._silence[: self._frame - frame.size]])
            await self._tick(frame)
        await self.listen()

    async def listen(self) -> None:
        """Stay silent until the assistant has nothing more to say (and, in real time, has finished saying it).

        Silence is fed at the pace of a real line while the assistant works, so the endpointer's silence window
        and speculative transcription happen as they would on a call."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _MAX_WAIT_S
        while self._waiting():
            if loop.time() > deadline:
                self._session.log.error("the assistant did not finish its reply in time", seconds=_MAX_WAIT_S)
                return
            await self._tick(self._silence, paced=True)
        if not self._realtime:
            # The reply is not played out here; a caller would spend that time listening to it.
            await self._session.listened()
        self._session.playout.flush()

    def _waiting(self) -> bool:
        session = self._session
        return session.busy or session.listener.in_speech or (self._realtime and session.playout.buffered_seconds > 0)

    async def _tick(self, frame: Pcm16, paced: bool = False) -> None:
        session = self._session
        self.hear(frame)
        if not (self._realtime or paced or session.busy):
            await asyncio.sleep(0)
            return
        # Real time: the caller is listening, or the assistant is working while the line runs.
        self.play(self._frame)
        loop = asyncio.get_running_loop()
        self._next_tick = max(self._next_tick + self._frame / session.rate, loop.time() - 0.1)
        await asyncio.sleep(max(0.0, self._next_tick - loop.time()))


async def simulate_call(session: CallSession, turns: list[CallerTurn], *, realtime: bool) -> Simulation:
    reply = _ReplyAudio(session.rate)
    session.subscribe(reply)
    line = FileLine(session, realtime)
    try:
        await session.start()
        await line.listen()
        for turn in turns:
            if line.leaving.is_set():
                session.log.info("the call was handed over or ended; the remaining caller turns are not played")
                break
            if turn.text is not None:
                session.say(turn.text)
                await line.listen()
            elif turn.dtmf is not None:
                session.dtmf(turn.dtmf)
                await line.listen()
            elif turn.audio is not None:
                await line.speak(turn.audio)
    except BaseException:
        await session.end("simulation failed", wait=False)
        raise
    call = await session.end("simulation finished")
    return Simulation(call=call, turns=list(session.turns.turns), reply_audio=reply.audio())


class SimulationTurnInput(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One caller turn over the API: typed text, a WAV file's bytes in base64, or a key pressed."""

    text: str | None = None
    wav_base64: str | None = None
    dtmf: str | None = None


class SimulationRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tenant: str
    turns: list[SimulationTurnInput]
    realtime: bool = False
    rate: Literal[8000, 16000] = 8000
    caller: str | None = None  # the caller ID, as a phone line would give it (e.g. "+13125550142")


class ReportTurn(msgspec.Struct, kw_only=True):
    caller: str | None
    reply: str
    intent: str | None
    tool_calls: list[ToolCallRecord]
    latency_ms: Latency


class SimulationReport(msgspec.Struct, kw_only=True):
    call_id: str
    tenant: str
    turns: list[ReportTurn]
    outcome: str | None
    outcomes: list[str] = msgspec.field(default_factory=list)  # the outcome first, then what else the call did
    reply_wav_base64: str | None = None


_CALLER_ID = re.compile(r"^\+?[0-9]{3,15}$")


def caller_turns(request: SimulationRequest) -> list[CallerTurn]:
    turns = []
    for i, turn in enumerate(request.turns):
        if sum(x is not None for x in (turn.text, turn.wav_base64, turn.dtmf)) != 1:
            raise InputError(f"turns[{i}]: give exactly one of text, wav_base64 or dtmf")
        if turn.dtmf is not None:
            if turn.dtmf not in tuple("0123456789*#"):
                raise InputError(f"turns[{i}]: dtmf must be one key: 0-9, * or #")
            turns.append(CallerTurn(dtmf=turn.dtmf))
        elif turn.text is not None:
            if not turn.text.strip():
                raise InputError(f"turns[{i}]: text is empty")
            turns.append(CallerTurn(text=turn.text.strip()))
        else:
            try:
                data = base64.b64decode(turn.wav_base64 or "", validate=True)
            except binascii.Error:
                raise InputError(f"turns[{i}]: wav_base64 is not base64") from None
            turns.append(CallerTurn(audio=decode_wav(data, request.rate, name=f"turns[{i}]")))
    if not turns:
        raise InputError("a simulated call needs at least one caller turn")
    return turns


async def run_simulation(host: CallHost, request: SimulationRequest) -> SimulationReport:
    """A whole simulated call: validate, warm the tenant's prompt (as a serving box has), run, report."""
    turns = caller_turns(request)
    if request.caller is not None and not _CALLER_ID.match(request.caller):
        raise InputError("caller must be a phone number: digits, with a leading + if international")
    caller = request.caller or "simulator"
    session = host.new_call(request.tenant, channel="simulated", caller=caller, callee=None, rate=request.rate)
    await host.models.load(("vad", "turn", "stt", "llm", "tts"))
    await host.warm_tenant(request.tenant)
    result = await simulate_call(session, turns, realtime=request.realtime)
    return SimulationReport(
        call_id=result.call.id,
        tenant=result.call.tenant_id,
        turns=[
            ReportTurn(
                caller=t.caller,
                reply=t.reply,
                intent=t.intent,
                tool_calls=t.tool_calls,
                latency_ms=t.latency_ms,
            )
            for t in result.turns
        ],
        outcome=result.call.outcome,
        outcomes=result.call.outcomes,
        reply_wav_base64=base64.b64encode(encode_wav(result.reply_audio, request.rate)).decode(),
    )
