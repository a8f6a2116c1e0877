"""One caller turn, end to end: the flow's shortcuts, the LLM's plan, the tools, and what the caller hears."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from core.dialogue import lines
from core.dialogue.conversation import FALLBACK_REPLY, Conversation, Head
from core.dialogue.flow import Flow, FlowTurn
from core.dialogue.outcome import CallFacts
from core.dialogue.plan import Needs
from core.dialogue.stream import ClauseChunker
from core.events import Event, FirstToken, ReplyDone, ReplyText, ToolCalled
from core.records import ToolCallRecord
from core.security.cards import card_details_only, mentions_card
from core.tools.base import ToolBox

# A reply that acknowledges and says nothing else.
_ACK = re.compile(
    r"^\W*(sure|okay|ok|of course|certainly|great|no problem|alright|all right|right|got it|absolutely|perfect|"
    r"lovely|yes|yeah|no worries|will do|sounds good)\W*$",
    re.I,
)
# Words that ask for something: a question, or "I want / need / would like …".
_REQUEST = re.compile(
    r"\?|^\W*(can|could|would|will|do|does|is|are|what|when|where|how)\b|"
    r"\b(i|we)('d| would| want| need| wanna)\b|\b(want|need|like) (to|a|an|some|someone)\b",
    re.I,
)


def asks(text: str) -> bool:
    """Whether the caller's words ask for something."""
    return bool(_REQUEST.search(text))


def acknowledges_only(clause: str, text: str) -> bool:
    """Whether ``clause``, as the first of a reply to ``text``, would be no answer if nothing followed it."""
    return bool(_ACK.match(clause)) and asks(text)


@dataclass
class _Turn:
    number: int
    started: float
    publish: Callable[[Event], None]
    spoken: list[str] = field(default_factory=list)
    first: bool = False
    # The caller talked over the turn: generation stops, nothing more is said, what is decided still happens.
    interrupted: bool = False


class Dialogue:
    def __init__(
        self,
        conversation: Conversation,
        flow: Flow,
        toolbox: ToolBox,
        *,
        filler_after_s: float,
        log: structlog.stdlib.BoundLogger,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.conversation = conversation
        self.flow = flow
        self._toolbox = toolbox
        self._filler_after = filler_after_s
        self._log = log
        self._clock = clock
        self.intents: list[str] = []
        self.tools: list[ToolCallRecord] = []  # every tool call of the call, in order
        self.unanswered = 0  # questions no fact answered
        self._current: _Turn | None = None

    def facts(self, *, transferred: bool) -> CallFacts:
        """What the call did so far, for its outcome."""
        return CallFacts(
            intents=list(self.intents),
            tools=list(self.tools),
            unanswered=self.unanswered,
            transferred=transferred,
            task_open=self.flow.state.stage in ("collect", "confirm") and self.flow.state.task is not None,
        )

    def interrupt(self) -> None:
        """The caller barged in: the turn in progress stops generating, and what follows of it is not said."""
        if self._current is not None:
            self._current.interrupted = True

    async def warm(self) -> None:
        await asyncio.gather(self.conversation.warm(), self.flow.warm())

    def correct(self, was: str, now: str, removed: tuple[str, ...]) -> None:
        """An earlier caller turn redacted after the fact (a card number finished in a later turn): neither the
        history nor the task in hand keeps the digits."""
        self.conversation.correct(was, now, removed)
        self.flow.forget(removed)

    async def prepare(self, text: str) -> None:
        """The caller may be about to finish with ``text``: have the LLM read it, unless the flow needs no LLM."""
        if self.flow.fast_path(text) is None:
            await self.conversation.prepare(text)

    async def respond(self, text: str, number: int, publish: Callable[[Event], None]) -> ReplyDone:
        """Call turn ``number``'s reply to the caller's ``text``, published as it is decided: its first token,
        its clauses, the tools it called, and last the ``ReplyDone`` that is also returned."""
        turn = _Turn(number, self._clock(), publish)
        self._current = turn
        fast: tuple[str, dict[str, Any]] | None
        slots: dict[str, Any]
        if mentions_card(text):
            # Whatever else the turn asks for, the caller first hears that the card was not taken.
            self._say_line(turn, lines.NO_CARDS)
        if card_details_only(text):
            # Nothing else in the turn: the flow's own question again, so the task in hand goes on.
            intent, slots, llm_replied = self.flow.state.task or "other", {}, False
            fast = (intent, slots)
            outcome = self.flow.ask_again() or FlowTurn(intent, [lines.ANYTHING_ELSE])
        else:
            fast = self.flow.fast_path(text)
            if fast is not None:
                (intent, slots), llm_replied = fast, False
            else:
                await self.flow.read(text)
                intent, slots, llm_replied = await self._plan(turn, text)
            try:
                outcome = await self.flow.turn(intent, slots, text, lambda name, args: self._tool(turn, name, args))
            except Exception:
                self._log.exception("the flow failed on this turn; the caller hears a fallback line")
                outcome = FlowTurn(intent, [lines.CANT_DO])
        if outcome.use_llm_reply and not llm_replied:
            if intent == "goodbye":
                fallback = lines.GOODBYE.format(business=self.flow.tenant.name)
            else:
                fallback = lines.WHAT_TO_DO if asks(text) else FALLBACK_REPLY
            self._say_line(turn, fallback)
        if outcome.quote is not None and not turn.interrupted:
            answer = self.conversation.answer_fact(
                text, outcome.quote, turn=number, interrupted=lambda: turn.interrupted
            )
            await self._speak(turn, answer)
            if not self.conversation.last_answered:
                self.unanswered += 1
                self.flow.unanswered()
        if outcome.answer_from is not None and not turn.interrupted:
            answer = self.conversation.answer(
                text, outcome.answer_from, turn=number, interrupted=lambda: turn.interrupted
            )
            await self._speak(turn, answer)
        for line in outcome.lines:
            self._say_line(turn, line)
        if not turn.spoken:
            self._say_line(turn, FALLBACK_REPLY)
        reply = " ".join(turn.spoken) + (" —" if turn.interrupted else "")
        self.intents.append(outcome.intent)
        self.conversation.remember(text, outcome.intent, slots, reply)
        plan = {
            "intent": outcome.intent,
            "slots": slots,
            "decided_without_llm": fast is not None,
            "parsed": fast is not None or self.conversation.last_plan_parsed,
        }
        done = ReplyDone(number, reply, outcome.intent, plan, after=outcome.after, expect=outcome.expect)
        publish(done)
        return done

    async def _plan(self, turn: _Turn, text: str) -> tuple[str, dict[str, Any], bool]:
        """The LLM's intent and slots for the turn, speaking its reply as it streams; and whether it replied. A
        reply that is only an acknowledgement ("Sure.") is not a reply to a request or a question: it is held
        until more follows, and dropped if nothing does (the flow then says what it can do)."""
        intent, slots, replied = "other", {}, False
        held: list[ReplyText] = []

        def needs(planned: str) -> Needs:
            return self.flow.needs(self.flow.refine(planned, text))

        plan = self.conversation.plan(text, needs, turn=turn.number, interrupted=lambda: turn.interrupted)
        async for item in plan:
            if isinstance(item, Head):
                intent, slots = self.flow.refine(item.intent, text), item.slots
            elif isinstance(item, ReplyText):
                if not replied and not held and acknowledges_only(item.text, text):
                    held = [item]
                    continue
                for earlier in held:
                    self._say(turn, earlier)
                held, replied = [], True
                self._say(turn, item)
            else:
                self._first(turn, item)
        if held:
            self._log.warning("the LLM's whole reply to a request was an acknowledgement; not said", reply=held[0].text)
        return intent, slots, replied

    async def _speak(self, turn: _Turn, answer: AsyncIterator[FirstToken | ReplyText]) -> None:
        """Say an answer as it comes: its first token's timing, then its clauses."""
        async for item in answer:
            if isinstance(item, FirstToken):
                self._first(turn, item)
            else:
                self._say(turn, item)

    def _first(self, turn: _Turn, token: FirstToken | None = None) -> None:
        """The turn's first words: as the LLM timed them, or (a fixed line) now."""
        if not turn.first:
            turn.first = True
            now = self._clock()
            turn.publish(token or FirstToken(turn.number, now, (now - turn.started) * 1000))

    def _say(self, turn: _Turn, clause: ReplyText) -> None:
        if turn.interrupted:
            return
        self._first(turn)
        turn.spoken.append(clause.text)
        turn.publish(clause)

    def _say_line(self, turn: _Turn, line: str) -> None:
        chunker = ClauseChunker()
        for clause in [*chunker.feed(line + " "), *chunker.flush()]:
            self._say(turn, ReplyText(turn.number, clause, self._clock()))

    async def _tool(self, turn: _Turn, name: str, args: dict[str, Any]) -> ToolCallRecord:
        task = asyncio.create_task(self._toolbox.run(name, args))
        done, _ = await asyncio.wait({task}, timeout=self._filler_after)
        if not done:
            # Said while the tool works; never counted as the answer's first audio.
            turn.publish(ReplyText(turn.number, lines.FILLER, self._clock(), filler=True))
        record = await task
        self.tools.append(record)
        self._log.info("tool called", tool=name, ok=record.ok, ms=record.latency_ms, error=record.error)
        turn.publish(ToolCalled(turn.number, record))
        return record
