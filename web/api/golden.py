"""A business's golden conversations over the API: kept from a call, edited, run as a set against the last run."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, delete, get, post, put

from core.calls.golden import Comparison, Golden, GoldenResult, compare, golden_from_call, request_for, result_of
from core.calls.simulate import run_simulation
from web.api.paths import TENANT
from web.auth.policy import Permission
from web.scope import TenantScope
from web.store.golden import Expectations, GoldenTest, GoldenTests


class TestRun(msgspec.Struct, kw_only=True):
    results: list[GoldenResult]
    compared: Comparison  # against each test's previous run


class GoldenController(Controller):
    path = f"{TENANT}/tests"
    tags = ["tests"]

    @get("/", permission=Permission.CALLS_TEST, sync_to_thread=True)
    def list_tests(self, view: TenantScope) -> list[GoldenTest]:
        """The business's golden conversations with their last results."""
        return GoldenTests(view.web.runtime.store).kept(view.tenant_id)

    @post("/from-call/{call_id:str}", permission=Permission.CALLS_TEST, sync_to_thread=True)
    def keep_call(self, view: TenantScope, call_id: str) -> GoldenTest:
        """Keep a stored call as a test: its caller's words, caller ID, outcomes and the tools that did
        something; add what must and must never be said with ``PUT``."""
        detail = view.calls.get(call_id)
        spec = golden_from_call(detail.call, detail.turns)
        kept = GoldenTests(view.web.runtime.store).add(view.tenant_id, spec, call_id, detail.call.caller)
        view.audit("test.keep", kept.id, {"call_id": call_id})
        return kept

    @put("/{test_id:str}", permission=Permission.CALLS_TEST, sync_to_thread=True)
    def edit_test(self, view: TenantScope, test_id: str, data: Golden) -> GoldenTest:
        """Replace a test's conversation and expectations (the same fields as an `appliance eval` file)."""
        edited = GoldenTests(view.web.runtime.store).replace(view.tenant_id, test_id, data)
        view.audit("test.edit", test_id)
        return edited

    @put("/{test_id:str}/expectations", permission=Permission.CALLS_TEST, sync_to_thread=True)
    def edit_expectations(self, view: TenantScope, test_id: str, data: Expectations) -> GoldenTest:
        """A test's name, outcomes and words that must or must never be said (its turns and tools stay)."""
        edited = GoldenTests(view.web.runtime.store).expect(view.tenant_id, test_id, data)
        view.audit("test.edit", test_id)
        return edited

    @delete("/{test_id:str}", permission=Permission.CALLS_TEST, sync_to_thread=True)
    def remove_test(self, view: TenantScope, test_id: str) -> None:
        GoldenTests(view.web.runtime.store).remove(view.tenant_id, test_id)
        view.audit("test.remove", test_id)

    @post("/run", permission=Permission.CALLS_TEST, status_code=200)
    async def run_tests(self, view: TenantScope) -> TestRun:
        """Place every test as a simulated call, one after another (one test-call slot, 429 while
        ``web.max_test_calls`` are in progress), and compare with each test's previous run."""
        tests = GoldenTests(view.web.runtime.store)
        kept = await asyncio.to_thread(tests.kept, view.tenant_id)
        before = {t.spec.name: t.last_run for t in kept if t.last_run is not None}
        results = []
        with view.web.trial_calls.take("test run", view.tenant_id, view.principal.actor):
            for test in kept:
                report = await run_simulation(view.web.runtime, request_for(test.spec, None))
                results.append(result_of(test.spec, report))
                await asyncio.to_thread(tests.record_run, view.tenant_id, test.id, results[-1])
        run = TestRun(results=results, compared=compare(results, before))
        passed = sum(r.passed for r in results)
        await asyncio.to_thread(view.audit, "test.run", view.tenant_id, {"passed": passed, "of": len(results)})
        return run
