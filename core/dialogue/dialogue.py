"""One caller turn, end to end: the flow's shortcuts, the LLM's plan, the tools, and what the caller hears."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from core.dialogue import lines
from core.dialogue.conversation import FALLBACK_REPLY, Clause, Conversation, FirstWord, Head
from core.dialogue.flow import Flow, FlowTurn
from core.dialogue.plan import Needs
from core.dialogue.stream import ClauseChunker
from core.events import HangupRequested, TransferRequested
from core.records import ToolCallRecord
from core.tools.base import ToolBox


@dataclass(frozen=True, slots=True)
class ToolUsed:
    record: ToolCallRecord


@dataclass(frozen=True, slots=True)
class Finished:
    reply: str
    intent: str
    plan: dict[str, Any]
    after: TransferRequested | HangupRequested | None = None
    expect: str | None = None


Output = FirstWord | Clause | ToolUsed | Finished


@dataclass
class _Turn:
    started: float
    outputs: asyncio.Queue[Output | None] = field(default_factory=asyncio.Queue)
    spoken: list[str] = field(default_factory=list)
    first: bool = False
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
        self._current: _Turn | None = None

    def interrupt(self) -> None:
        """The caller talked over the reply: stop generating it; what follows is not said."""
        if self._current is not None:
            self._current.interrupted = True
        self.conversation.interrupt()

    async def warm(self) -> None:
        await self.conversation.warm()

    async def prepare(self, text: str) -> None:
        """The caller may be about to finish with ``text``: have the LLM read it, unless the flow needs no LLM."""
        if self.flow.fast_path(text) is None:
            await self.conversation.prepare(text)

    async def respond(self, text: str) -> AsyncIterator[Output]:
        turn = _Turn(started=self._clock())
        self._current = turn
        work = asyncio.create_task(self._turn(text, turn))
        try:
            while (item := await turn.outputs.get()) is not None:
                yield item
        finally:
            if not work.done():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
        if work.done() and not work.cancelled() and work.exception() is not None:
            raise work.exception()  # type: ignore[misc]

    async def _turn(self, text: str, turn: _Turn) -> None:
        try:
            await self._run(text, turn)
        finally:
            turn.outputs.put_nowait(None)

    async def _run(self, text: str, turn: _Turn) -> None:
        fast = self.flow.fast_path(text)
        intent, slots = fast if fast is not None else ("other", {})
        llm_reply: list[str] = []
        if fast is None:

            def needs(planned: str) -> Needs:
                return self.flow.needs(self.flow.refine(planned, text))

            async for item in self.conversation.plan(text, needs):
                if isinstance(item, Head):
                    intent, slots = self.flow.refine(item.intent, text), item.slots
                elif isinstance(item, Clause):
                    llm_reply.append(item.text)
                    self._say(turn, item.text, first_ms=None)
                elif isinstance(item, FirstWord):
                    self._first(turn, item.ms)
        try:
            outcome = await self.flow.turn(intent, slots, text, lambda name, args: self._tool(turn, name, args))
        except Exception:
            self._log.exception("the flow failed on this turn; the caller hears a fallback line")
            outcome = FlowTurn(intent, [lines.CANT_DO])
        if outcome.use_llm_reply and not llm_reply:
            fallback = lines.GOODBYE.format(business=self.flow.tenant.name) if intent == "goodbye" else FALLBACK_REPLY
            self._say_line(turn, fallback)
        if outcome.answer_from is not None and not turn.interrupted:
            async for item in self.conversation.answer(text, outcome.answer_from):
                if isinstance(item, FirstWord):
                    self._first(turn, item.ms)
                else:
                    self._say(turn, item.text, first_ms=None)
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
        turn.outputs.put_nowait(Finished(reply, outcome.intent, plan, after=outcome.after, expect=outcome.expect))

    def _first(self, turn: _Turn, ms: float | None = None) -> None:
        if not turn.first:
            turn.first = True
            turn.outputs.put_nowait(FirstWord(ms if ms is not None else (self._clock() - turn.started) * 1000))

    def _say(self, turn: _Turn, text: str, first_ms: float | None) -> None:
        if turn.interrupted:
            return
        self._first(turn, first_ms)
        turn.spoken.append(text)
        turn.outputs.put_nowait(Clause(text))

    def _say_line(self, turn: _Turn, line: str) -> None:
        chunker = ClauseChunker()
        for clause in [*chunker.feed(line + " "), *chunker.flush()]:
            self._say(turn, clause, first_ms=None)

    async def _tool(self, turn: _Turn, name: str, args: dict[str, Any]) -> ToolCallRecord:
        task = asyncio.create_task(self._toolbox.run(name, args))
        done, _ = await asyncio.wait({task}, timeout=self._filler_after)
        if not done:
            # Said while the tool works; never counted as the answer's first audio.
            turn.outputs.put_nowait(Clause(lines.FILLER, filler=True))
        record = await task
        self._log.info("tool called", tool=name, ok=record.ok, ms=record.latency_ms, error=record.error)
        turn.outputs.put_nowait(ToolUsed(record))
        return record
