"""Work on one llama.cpp context shared by every call, in steps, the job that has been served least going first.

Done one whole job after another, a caller whose turn arrives while another call's plan is being written waits
for all of it, the other plan's slots included (seconds on two cores), although that caller is already hearing
their reply. Here every job is a generator of steps (a chunk of prompt, or one generated token, reporting how
many tokens it generated), and between steps the job with the fewest tokens generated, counted in quanta, goes
next: a new turn gets to its first words after at most a quantum of each other call's work. Within a quantum the
running job keeps the context, so the KV state changes hands only when a quantum is used up. Background jobs
(prefills, which only save time later) run when nothing else waits.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from models.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(eq=False)
class ContextJob:
    steps: Generator[int, None, object]
    background: bool
    # Called once, on the scheduler's thread, with None or what ended the job.
    on_end: Callable[[BaseException | None], None]
    # Whether nobody waits for the job any more (a reply the caller talked over).
    cancelled: Callable[[], bool]
    order: int = 0
    served: int = 0
    # The tokens the context held for this job when another took it over, to be brought back before its next step.
    held: npt.NDArray[np.intc] | None = field(default=None, repr=False)


class ContextTurns:
    def __init__(
        self,
        switch: Callable[[ContextJob | None, ContextJob], None],
        quantum: int,
        name: str = "llm",
    ) -> None:
        """``switch(leaving, coming)`` hands the context over: it keeps what ``leaving`` (unfinished, or None)
        holds in ``leaving.held`` and brings back ``coming.held``."""
        self._switch = switch
        self._quantum = quantum
        self._jobs: list[ContextJob] = []
        self._current: ContextJob | None = None
        self._slice = (False, 0)  # the rank the current job had when it got the context
        self._order = itertools.count()
        self._closing = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: ContextJob) -> None:
        with self._wake:
            if self._closing:
                raise ModelError("models.llm: the model is closed (the appliance is stopping)")
            job.order = next(self._order)
            self._jobs.append(job)
            self._wake.notify()

    def close(self) -> None:
        """Stop after the step in progress; every unfinished job ends with a ModelError."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()

    def _rank(self, job: ContextJob) -> tuple[bool, int]:
        return (job.background, job.served // self._quantum)

    def _next(self) -> ContextJob | None:
        with self._wake:
            while not self._jobs and not self._closing:
                self._wake.wait()
            if self._closing:
                return None
            for job in [j for j in self._jobs if j.cancelled()]:
                # Dropped between steps, so the context holds whole steps of it: a state any job can start from.
                self._finish(job, None)
            if not self._jobs:
                return None
            best = min(self._jobs, key=lambda j: (*self._rank(j), j.order))
            current = self._current
            if current is not None and self._rank(current) == self._slice and self._rank(best) >= self._slice:
                return current  # within its quantum, and nobody has been served less
            self._slice = self._rank(best)
            return best

    def _run(self) -> None:
        while True:
            job = self._next()
            if job is None:
                if self._closing:
                    break
                continue
            try:
                if job is not self._current:
                    # No one owns the context while it changes hands: if that fails, each job's next step
                    # brings back what it held.
                    leaving, self._current = self._current, None
                    self._switch(leaving, job)
                    self._current = job
                job.served += next(job.steps)
            except StopIteration:
                self._finish(job, None)
            except Exception as exc:  # handed to whoever waits for the job, which decides what the caller hears
                self._finish(job, exc)
        with self._wake:
            left, self._jobs = self._jobs, []
        for job in left:
            self._end(job, ModelError("the LLM is shutting down"))

    def _finish(self, job: ContextJob, error: BaseException | None) -> None:
        with self._wake:
            self._jobs.remove(job)
        if self._current is job:
            self._current = None
        self._end(job, error)

    @staticmethod
    def _end(job: ContextJob, error: BaseException | None) -> None:
        job.steps.close()
        try:
            job.on_end(error)
        except Exception:  # a waiter's callback failing must not stop the context for every other call
            log.exception("an LLM job's end callback failed")
