"""Calls over the API: simulate one, list the latest, read one back."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post

from appliance.calls.records import CallRecord, TurnRecord
from appliance.calls.simulate import SimulationReport, SimulationRequest, run_simulation
from appliance.errors import InputError
from appliance.runtime import Runtime
from web.api.auth import cli_token_guard


class CallDetail(msgspec.Struct):
    call: CallRecord
    turns: list[TurnRecord]


class CallController(Controller):
    path = "/api/v1/calls"
    guards = [cli_token_guard]  # noqa: RUF012
    tags = ["calls"]  # noqa: RUF012

    @post("/simulate")
    async def simulate(self, runtime: Runtime, data: SimulationRequest) -> SimulationReport:
        return await run_simulation(runtime, data)

    @get("/", sync_to_thread=True)
    def list_calls(self, runtime: Runtime, tenant: str | None = None, limit: int = 50) -> list[CallRecord]:
        if not 1 <= limit <= 1000:
            raise InputError("limit must be 1 to 1000")
        return runtime.calls.recent(tenant, limit)

    @get("/{call_id:str}", sync_to_thread=True)
    def get_call(self, runtime: Runtime, call_id: str) -> CallDetail:
        return CallDetail(runtime.calls.get(call_id), runtime.calls.turns(call_id))
