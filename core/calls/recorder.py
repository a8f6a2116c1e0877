"""Writes a call and its turns to the store, in order, off the audio path."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from core.events import CallEnded, CallStarted, Event, ToolCalled, TurnCompleted, TurnCorrected
from core.records import TurnRecord
from core.store.calls import CallRepository


class CallRecorder:
    def __init__(self, calls: CallRepository, tenant_id: str, call_id: str, log: structlog.stdlib.BoundLogger) -> None:
        self._calls = calls
        self._tenant_id, self._call_id = tenant_id, call_id
        self._log = log
        self._jobs: asyncio.Queue[Callable[[], None] | None] = asyncio.Queue()
        self._worker = asyncio.create_task(self._run(), name="recorder")

    def handle(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            call = event.call
            self._jobs.put_nowait(lambda: self._calls.start(call))
        elif isinstance(event, TurnCompleted):
            record = event.record
            self._jobs.put_nowait(lambda: self._add_turn(record))
        elif isinstance(event, TurnCorrected):
            fixed = event.record
            self._jobs.put_nowait(lambda: self._calls.correct_turn(self._tenant_id, self._call_id, fixed))
        elif isinstance(event, ToolCalled):
            # Written at once, not with the turn: a booking made just before a crash must still be explained.
            tool, turn = event.record, event.turn
            self._jobs.put_nowait(lambda: self._calls.add_tool_call(self._tenant_id, self._call_id, turn, tool))
        elif isinstance(event, CallEnded):
            call = event.call
            self._jobs.put_nowait(lambda: self._calls.finish(call))

    def _add_turn(self, record: TurnRecord) -> None:
        self._calls.add_turn(self._tenant_id, self._call_id, record)
        self._log.debug("turn stored", turn=record.idx)

    async def close(self) -> None:
        """Wait until everything handed over so far is written."""
        self._jobs.put_nowait(None)
        await self._worker

    async def _run(self) -> None:
        while (job := await self._jobs.get()) is not None:
            try:
                await asyncio.to_thread(job)
            except Exception:
                # The call goes on; the operator learns which write was lost and why.
                self._log.exception("could not write to the store")
