"""The post-call analysis queue: finished calls are analysed one at a time, only while no call is in progress.

The queue is the store (calls marked "pending" when they end), so what a restart interrupted is picked up again.
On two cores a summary competes with a caller for every token, so the analysis waits until the box has no call,
and the moment one starts it stops (the LLM ends the job at its next step) and runs again from the start later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from core.aftercall.analysis import analyse
from core.errors import NotFoundError
from core.records import CallAnalysis, CallRecord
from core.store.calls import CallRepository
from models.errors import ModelError
from models.interfaces import LlmProvider, TokenCount

log = logging.getLogger(__name__)


class AnalysisWorker:
    def __init__(
        self,
        calls: CallRepository,
        llm: Callable[[], LlmProvider],
        busy: Callable[[], bool],
        *,
        settle_s: float = 2.0,
        poll_s: float = 30.0,
        watch_s: float = 0.05,
    ) -> None:
        """``llm`` gives the model (loading it if needed: called in a worker thread); ``busy`` says whether any
        call is in progress; ``settle_s`` of no call before an analysis starts."""
        self._calls = calls
        self._llm = llm
        self._busy = busy
        self._settle_s = settle_s
        self._poll_s = poll_s
        self._watch_s = watch_s
        self._wake = asyncio.Event()
        # Told of each call once its analysis is saved (done or failed), with the call as stored.
        self.on_analysed: list[Callable[[CallRecord], object]] = []
        self.analysed = 0  # calls analysed since start, for tests and benchmarks
        self.interrupted = 0  # analyses stopped because a call started

    def wake(self, *_: object) -> None:
        """A call ended (a listener of ``LiveCalls.on_ended``): look at the queue now."""
        self._wake.set()

    async def run(self) -> None:
        """Analyse calls until cancelled."""
        while True:
            try:
                found = await asyncio.to_thread(self._calls.awaiting_analysis, 1)
                if not found:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_s)
                    continue
                await self._idle()
                tenant_id, call_id = found[0]
                try:
                    llm = await asyncio.to_thread(self._llm)
                except ModelError as exc:
                    log.warning("post-call analysis waits: the language model is not available (%s)", exc)
                    await asyncio.sleep(self._poll_s)
                    continue
                await self._one(llm, tenant_id, call_id)
            except Exception:  # the queue outlives one bad call or a store hiccup; the call stays pending
                log.exception("post-call analysis: the queue failed; trying again in %.0f s", self._poll_s)
                await asyncio.sleep(self._poll_s)

    async def _idle(self) -> None:
        """Return once no call has been in progress for ``settle_s``."""
        quiet = 0.0
        while True:
            if self._busy():
                quiet = 0.0
            elif quiet >= self._settle_s:
                return
            else:
                quiet += self._watch_s
            await asyncio.sleep(self._watch_s)

    async def _one(self, llm: LlmProvider, tenant_id: str, call_id: str) -> None:
        try:
            call = await asyncio.to_thread(self._calls.get, call_id, tenant_id)
        except NotFoundError:  # erased since it ended
            return
        turns = await asyncio.to_thread(self._calls.turns, call_id)
        tokens = TokenCount()
        work = asyncio.create_task(analyse(llm, call, turns, tokens))
        while not work.done():
            await asyncio.wait({work}, timeout=self._watch_s)
            if not work.done() and self._busy():
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                self.interrupted += 1
                log.info("post-call analysis of %s stopped for a call in progress; it runs again later", call_id)
                return
        state, analysis = "failed", None
        try:
            analysis = work.result()
            state = "done"
        except ModelError as exc:
            log.warning("post-call analysis of %s failed, the call keeps no summary: %s", call_id, exc)
        except Exception:
            log.exception("post-call analysis of %s failed, the call keeps no summary", call_id)
        await asyncio.to_thread(self._calls.save_analysis, call_id, state, analysis, tokens.read, tokens.written)
        stored = await asyncio.to_thread(self._calls.get, call_id, tenant_id)
        for listener in self.on_analysed:
            try:
                listener(stored)
            except Exception:
                log.exception("a listener of analysed calls failed on %s", call_id)
        if isinstance(analysis, CallAnalysis):
            self.analysed += 1
            log.info(
                "call %s analysed in %.1f s: %s (%d summary sentence(s) left out as not said)",
                call_id,
                analysis.seconds,
                analysis.sentiment,
                len(analysis.dropped),
            )
