"""The order in which calls' turns share the one LLM context (no model: the steps record what ran)."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from models.context_turns import ContextJob, ContextTurns
from models.errors import ModelError


class Recorder:
    """Jobs whose steps log their name; a gate holds the first step of the first job until the rest are queued."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.switches: list[tuple[str | None, str]] = []
        self.ended: dict[str, BaseException | None] = {}
        self.gate = threading.Event()
        self.all_ended = threading.Condition()

    def steps(self, name: str, tokens: int, fail_at: int | None = None) -> Generator[int, None, None]:
        for i in range(tokens):
            if name == "a" and i == 0:
                self.gate.wait(5)
            if i == fail_at:
                raise RuntimeError(f"{name} broke")
            self.ran.append(name)
            yield 1

    def job(self, name: str, tokens: int, background: bool = False, **kwargs: int) -> ContextJob:
        def end(error: BaseException | None) -> None:
            with self.all_ended:
                self.ended[name] = error
                self.all_ended.notify_all()

        job = ContextJob(self.steps(name, tokens, **kwargs), background, end, lambda: False)
        job.name = name  # type: ignore[attr-defined]
        return job

    def switch(self, leaving: ContextJob | None, coming: ContextJob) -> None:
        self.switches.append((getattr(leaving, "name", None), coming.name))  # type: ignore[attr-defined]

    def wait(self, count: int) -> None:
        with self.all_ended:
            assert self.all_ended.wait_for(lambda: len(self.ended) == count, timeout=5)


def runs(sequence: list[str]) -> list[tuple[str, int]]:
    """``["a", "a", "b"]`` as ``[("a", 2), ("b", 1)]``."""
    out: list[tuple[str, int]] = []
    for name in sequence:
        if out and out[-1][0] == name:
            out[-1] = (name, out[-1][1] + 1)
        else:
            out.append((name, 1))
    return out


def test_a_waiting_turn_goes_after_a_quantum_of_the_running_one_and_background_work_last() -> None:
    rec = Recorder()
    turns = ContextTurns(rec.switch, quantum=4)
    try:
        turns.submit(rec.job("a", 10))
        turns.submit(rec.job("prefill", 3, background=True))
        turns.submit(rec.job("b", 6))
        rec.gate.set()
        rec.wait(3)
    finally:
        turns.close()
    # a keeps the context for its quantum, then b (served least) gets one, a and b alternate by quanta, and
    # the background prefill waits until neither has anything left.
    assert runs(rec.ran) == [("a", 4), ("b", 4), ("a", 4), ("b", 2), ("a", 2), ("prefill", 3)]
    assert rec.switches[:3] == [(None, "a"), ("a", "b"), ("b", "a")]
    assert rec.ended == {"a": None, "b": None, "prefill": None}


def test_a_failing_job_ends_alone_and_a_cancelled_one_never_runs() -> None:
    rec = Recorder()
    turns = ContextTurns(rec.switch, quantum=4)
    try:
        turns.submit(rec.job("a", 3))
        turns.submit(rec.job("broken", 5, fail_at=2))
        gone = rec.job("gone", 5)
        gone.cancelled = lambda: True
        turns.submit(gone)
        rec.gate.set()
        rec.wait(3)
    finally:
        turns.close()
    assert "gone" not in rec.ran and rec.ended["gone"] is None
    assert isinstance(rec.ended["broken"], RuntimeError) and rec.ran.count("broken") == 2
    assert rec.ran.count("a") == 3 and rec.ended["a"] is None


def test_closing_ends_unfinished_jobs_with_an_error_and_refuses_new_ones() -> None:
    rec = Recorder()
    turns = ContextTurns(rec.switch, quantum=4)
    turns.submit(rec.job("a", 1000))
    turns.submit(rec.job("b", 5))
    closer = threading.Thread(target=turns.close)
    closer.start()
    rec.gate.set()
    closer.join(5)
    assert not closer.is_alive()
    assert isinstance(rec.ended["a"], ModelError) and isinstance(rec.ended["b"], ModelError)
    assert rec.ran.count("a") < 1000
    with pytest.raises(ModelError, match="closed"):
        turns.submit(rec.job("late", 1))
