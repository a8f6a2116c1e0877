"""Delivery of a call's events to its stages, in order, and tracking of the work they start."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from typing import Any, Protocol

import structlog

from core.events import Event


class Stage(Protocol):
    def handle(self, event: Event) -> None:
        """React to one event. Must return at once; slow work goes to a task through ``Work.spawn``."""
        ...


class EventBus:
    """Synchronous, in-order delivery. An event published while another is being delivered waits its turn,
    so every stage sees events in the same order."""

    def __init__(self, log: structlog.stdlib.BoundLogger) -> None:
        self._stages: list[Stage] = []
        self._pending: deque[Event] = deque()
        self._delivering = False
        self._log = log

    def subscribe(self, stage: Stage) -> None:
        self._stages.append(stage)

    def publish(self, event: Event) -> None:
        self._pending.append(event)
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._pending:
                current = self._pending.popleft()
                for stage in self._stages:
                    try:
                        stage.handle(current)
                    except Exception:
                        # One broken stage must not take the call down with it.
                        self._log.exception("stage failed", stage=type(stage).__name__, on=type(current).__name__)
        finally:
            self._delivering = False


class Work:
    """The tasks a call's stages started; ``idle()`` waits until none is left."""

    def __init__(self, log: structlog.stdlib.BoundLogger) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._log = log

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self._log.error("call task failed", task=task.get_name(), error=repr(exc), exc_info=exc)
        if not self._tasks:
            self._idle.set()

    async def idle(self) -> None:
        while self._tasks:
            await self._idle.wait()
            # A finishing task may have spawned another just before the event fired.
            await asyncio.sleep(0)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
