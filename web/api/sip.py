"""SIP over the API: the trunks' registrations and the calls in progress."""

from __future__ import annotations

from litestar import Controller, get

from appliance.runtime import Runtime
from sip.startup import sip_status
from sip.status import SipStatus
from web.api.auth import cli_token_guard


class SipController(Controller):
    path = "/api/v1/sip"
    guards = [cli_token_guard]  # noqa: RUF012
    tags = ["sip"]  # noqa: RUF012

    @get("/status", sync_to_thread=False)
    def status(self, runtime: Runtime) -> SipStatus:
        return sip_status(runtime)
