"""Ingests run as jobs over the API: started by one request, watched by later ones until done."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec

from core.errors import ApplianceError, NotFoundError
from core.store.database import new_id
from kb.catalog import SourceInfo
from kb.progress import OnProgress, Progress

log = logging.getLogger(__name__)

_KEPT = 100


class IngestJob(msgspec.Struct, kw_only=True):
    id: str
    tenant_id: str
    source: str
    state: Literal["running", "done", "failed"]
    progress: Progress
    result: SourceInfo | None = None
    error: str | None = None


class Jobs:
    def __init__(self) -> None:
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, tenant_id: str, source: str, work: Callable[[OnProgress], Awaitable[SourceInfo]]) -> IngestJob:
        job = IngestJob(
            id=new_id("job"), tenant_id=tenant_id, source=source, state="running", progress=Progress(phase="queued")
        )
        self._jobs[job.id] = job
        while len(self._jobs) > _KEPT:
            self._jobs.popitem(last=False)

        def report(progress: Progress) -> None:
            job.progress = progress

        async def run() -> None:
            try:
                job.result = await work(report)
                job.state, job.progress = "done", Progress(phase="done", detail="ingested")
            except ApplianceError as exc:
                job.state, job.error = "failed", str(exc)
                job.progress = Progress(phase="failed", detail=str(exc))
            except Exception as exc:
                log.exception("ingest of %s for tenant %s failed unexpectedly", source, tenant_id)
                job.state, job.error = "failed", f"unexpected failure ({type(exc).__name__}); see the appliance log"
                job.progress = Progress(phase="failed", detail=job.error)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def get(self, job_id: str, tenant_id: str) -> IngestJob:
        """A job of ``tenant_id``'s (another tenant's job is as unknown as a missing one)."""
        job = self._jobs.get(job_id)
        if job is None or job.tenant_id != tenant_id:
            raise NotFoundError(f"no ingest job '{job_id}'")
        return job

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
