"""The post-call analysis queue: it survives a restart, gives way to calls, and a failure loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from appliance.runtime import Runtime
from core.aftercall.analysis import analyse
from core.aftercall.worker import AnalysisWorker
from core.calls.simulate import CallerTurn, simulate_call
from core.store.calls import CallRepository
from core.store.database import Store
from models.config import ModelSettings
from models.interfaces import TokenCount
from models.loader import ModelSet


async def _ended_call(runtime: Runtime, store: Path) -> str:
    """A finished call, copied into a store of its own (so no other test's calls are in its queue)."""
    session = runtime.new_call("fern-and-fade", channel="simulated", caller="+61400999888", callee=None, rate=8000)
    result = await simulate_call(session, [CallerTurn(text="How much is a men's cut?")], realtime=False)
    call, turns = runtime.calls.get(result.call.id), runtime.calls.turns(result.call.id)
    assert call.analysis_state == "pending"
    assert call.llm_tokens_in > 100 and call.llm_tokens_out > 5  # what the call's turn read and wrote
    own = Store.open(store)
    calls = CallRepository(own)
    calls.start(call)
    for turn in turns:
        calls.add_turn(call.tenant_id, call.id, turn)
    calls.finish(call)
    own.close()
    return call.id


async def _until(check: Callable[[], bool], limit_s: float = 120.0) -> None:
    for _ in range(int(limit_s / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_call_left_pending_by_a_restart_is_analysed(loaded: Runtime, tmp_path: Path) -> None:
    call_id = await _ended_call(loaded, tmp_path / "box.duckdb")
    store = Store.open(tmp_path / "box.duckdb")  # the box started again
    calls = CallRepository(store)
    worker = AnalysisWorker(calls, loaded.models.llm, busy=lambda: False, settle_s=0.1)
    running = asyncio.create_task(worker.run())
    try:
        await _until(lambda: worker.analysed == 1)
    finally:
        running.cancel()
    before = loaded.calls.get(call_id)
    call = calls.get(call_id)
    assert call.analysis_state == "done" and call.analysis is not None
    # The analysis's tokens are the call's usage too.
    assert call.llm_tokens_in > before.llm_tokens_in + 100 and call.llm_tokens_out > before.llm_tokens_out + 5
    assert call.analysis.summary.startswith("The caller"), call.analysis
    assert calls.awaiting_analysis(10) == []
    store.close()


async def test_a_call_that_starts_stops_the_analysis_until_the_box_is_free(loaded: Runtime, tmp_path: Path) -> None:
    call_id = await _ended_call(loaded, tmp_path / "box.duckdb")
    store = Store.open(tmp_path / "box.duckdb")
    calls = CallRepository(store)
    in_progress = [False]
    worker = AnalysisWorker(calls, loaded.models.llm, busy=lambda: in_progress[0], settle_s=0.1)
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(1.0)  # the analysis has begun: it takes seconds
        in_progress[0] = True  # a call comes in
        await _until(lambda: worker.interrupted == 1)
        assert calls.get(call_id).analysis_state == "pending"  # nothing half-written
        await asyncio.sleep(1.0)
        assert worker.analysed == 0  # not while the call lasts
        in_progress[0] = False  # the call ended
        await _until(lambda: worker.analysed == 1)
    finally:
        running.cancel()
    assert calls.get(call_id).analysis_state == "done"
    store.close()


async def test_a_failed_analysis_keeps_the_call_and_the_queue_goes_on(
    loaded: Runtime, tmp_path: Path, models_dir: Path
) -> None:
    first = await _ended_call(loaded, tmp_path / "box.duckdb")
    second = await _ended_call(loaded, tmp_path / "box.duckdb")
    store = Store.open(tmp_path / "box.duckdb")
    calls = CallRepository(store)
    broken = ModelSet(ModelSettings(), models_dir)
    llm = broken.llm()
    broken.close()  # a model that stops mid-way: every request to it fails
    worker = AnalysisWorker(calls, lambda: llm, busy=lambda: False, settle_s=0.0)
    running = asyncio.create_task(worker.run())
    try:
        await _until(lambda: not calls.awaiting_analysis(10))
    finally:
        running.cancel()
    for call_id in (first, second):
        call = calls.get(call_id)
        assert call.analysis_state == "failed" and call.analysis is None
        assert call.outcomes == ["question_answered"] and len(calls.turns(call_id)) == 2
    store.close()


async def test_a_cancelled_analysis_stops_the_model_at_once(loaded: Runtime, tmp_path: Path) -> None:
    # Cancelled by the queue when a call starts: the model must stop writing, not go on beside the call.
    call_id = await _ended_call(loaded, tmp_path / "box.duckdb")
    call, turns = loaded.calls.get(call_id), loaded.calls.turns(call_id)
    count = TokenCount()
    work = asyncio.create_task(analyse(loaded.models.llm(), call, turns, count))
    await _until(lambda: count.written > 3)
    work.cancel()
    await asyncio.sleep(0.5)
    stopped_at = count.written
    await asyncio.sleep(1.5)
    assert count.written == stopped_at
