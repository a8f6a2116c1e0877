"""Calls over the API: simulate one, read one back."""

from __future__ import annotations

import msgspec
from litestar import Controller, get, post

from appliance.calls.records import CallRecord, TurnRecord
from appliance.calls.simulate import SimulationReport, SimulationRequest, run_simulation
from appliance.runtime import Runtime
from web.api.auth import cli_token_guard


class CallDetail(msgspec.Struct):
    call: CallRecord
    turns: list[TurnRecord]


class CallController(Controller):
    path = "/api/v1/calls"
    guards = [cli_token_guard]
    tags = ["calls"]

    @post("/simulate")
    async def simulate(self, runtime: Runtime, data: SimulationRequest) -> SimulationReport:
        return await run_simulation(runtime, data)

    @get("/{call_id:str}", sync_to_thread=True)
    def get_call(self, runtime: Runtime, call_id: str) -> CallDetail:
        return CallDetail(runtime.calls.get(call_id), runtime.calls.turns(call_id))
