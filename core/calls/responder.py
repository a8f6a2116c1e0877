"""Decides what the assistant says: the greeting, fixed lines, and one reply per caller turn, in the order the
caller spoke; the dialogue publishes each reply clause by clause as it produces it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from core.calls.bus import Work
from core.dialogue.dialogue import Dialogue
from core.events import (
    BargeIn,
    CallerCorrected,
    CallerDrafted,
    CallerSaid,
    CallStarted,
    Event,
    ListenFor,
    ReplyDone,
    ReplyStarted,
    ReplyText,
    SayLine,
)


class Responder:
    def __init__(
        self,
        dialogue: Dialogue,
        publish: Callable[[Event], None],
        work: Work,
        log: structlog.stdlib.BoundLogger,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._dialogue = dialogue
        self._publish = publish
        self._work = work
        self._log = log
        self._clock = clock
        self._turn = 0
        # Replies go out in the order the caller spoke, one at a time.
        self._order = asyncio.Lock()

    def handle(self, event: Event) -> None:
        if isinstance(event, BargeIn):
            self._dialogue.interrupt()
        elif isinstance(event, CallStarted):
            greeting = self._dialogue.conversation.tenant.greeting()
            self._work.spawn(self._say(SayLine(greeting, "greeting")), "greet")
            self._work.spawn(self._dialogue.warm(), "warm")
        elif isinstance(event, SayLine):
            self._work.spawn(self._say(event), "say")
        elif isinstance(event, CallerSaid):
            self._work.spawn(self._respond(event), "respond")
        elif isinstance(event, CallerCorrected):
            self._dialogue.correct(event.was.text, event.now.text, event.removed)
        elif isinstance(event, CallerDrafted) and not self._order.locked():
            # Nothing is being said or decided: the LLM may read the caller's words before their turn is over.
            self._work.spawn(self._dialogue.prepare(event.text), "prepare")

    async def _say(self, line: SayLine) -> None:
        async with self._order:
            turn = self._next_turn()
            now = self._clock()
            said = None
            if line.caller is not None:
                said = CallerSaid(text=line.caller, source="key", endpoint_wall=now)
            self._publish(ReplyStarted(turn=turn, wall=now, caller=said))
            self._publish(ReplyText(turn=turn, text=line.text, wall=now))
            self._publish(ReplyDone(turn=turn, text=line.text, intent=line.intent, plan=None, after=line.after))

    def _next_turn(self) -> int:
        turn = self._turn
        self._turn += 1
        return turn

    async def _respond(self, said: CallerSaid) -> None:
        async with self._order:
            turn = self._next_turn()
            self._publish(ReplyStarted(turn=turn, wall=self._clock(), caller=said))
            done = await self._dialogue.respond(said.text, turn, self._publish)
            self._log.info("assistant replied", turn=turn, intent=done.intent, reply=done.text)
            self._publish(ListenFor(done.expect))
