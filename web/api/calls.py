"""Calls over the API: a business's call list and each call with its turns and recording; simulate one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import File

from core.calls.simulate import SimulationReport, SimulationRequest, run_simulation
from web.api.paths import TENANT
from web.auth.access import require
from web.auth.policy import Permission, Principal
from web.context import WebContext
from web.host import WebHost
from web.queries.calls import CallDetail, CallFilter, CallPage
from web.scope import TenantScope


class SimulateController(Controller):
    path = "/api/v1/calls"
    tags = ["calls"]

    @post("/simulate", permission="signed_in")
    async def simulate(
        self,
        request: Request[Any, Any, Any],
        runtime: WebHost,
        web: WebContext,
        principal: Principal,
        data: SimulationRequest,
    ) -> SimulationReport:
        """Run one call through the real call loop from typed lines or WAV files (the CLI's `call simulate`).
        429 while ``web.max_test_calls`` test calls (simulations and browser calls) are in progress."""
        require(request, principal, Permission.CALLS_TEST, data.tenant)
        with web.trial_calls.take("simulation", data.tenant, principal.actor):
            return await run_simulation(runtime, data)


class CallController(Controller):
    path = f"{TENANT}/calls"
    tags = ["calls"]

    @get("/", permission=Permission.CALLS_READ, sync_to_thread=True)
    def list_calls(
        self,
        view: TenantScope,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: str | None = None,
        status: str | None = None,
        sentiment: str | None = None,
        q: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> CallPage:
        """The business's calls, newest first. ``since``/``until`` are UTC; ``outcome`` matches any of a call's
        outcomes; ``sentiment`` the post-call analysis's; ``q`` searches the caller's number and the transcript;
        ``before`` (a call id from ``next_before``) pages back."""
        return view.calls.search(
            CallFilter(
                since=since, until=until, outcome=outcome, status=status, sentiment=sentiment, q=q, before=before,
                limit=limit,
            )
        )  # fmt: skip

    @get("/{call_id:str}", permission=Permission.CALLS_READ, sync_to_thread=True)
    def get_call(self, view: TenantScope, call_id: str) -> CallDetail:
        """One call with its turns (transcript, tool calls, latency of each step)."""
        return view.calls.get(call_id)

    @get(
        "/{call_id:str}/recording",
        permission=Permission.CALLS_READ,
        sync_to_thread=True,
        media_type="audio/wav",
    )
    def recording(self, view: TenantScope, call_id: str) -> File:
        """The call's recording as WAV (404 when it has none, or it is past its retention)."""
        path = view.calls.recording(call_id)
        if path is None:
            raise NotFoundException(f"call '{call_id}' has no recording")
        return File(path=path, media_type="audio/wav", content_disposition_type="inline")
