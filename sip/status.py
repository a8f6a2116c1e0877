"""How SIP is doing, as /healthz and ``appliance sip status`` show it."""

from __future__ import annotations

from typing import Literal

import msgspec

TrunkState = Literal["registering", "registered", "failing", "unregistered", "not registering", "not running"]
SipState = Literal["off", "starting", "running", "failed", "stopped", "not running"]


class TrunkStatus(msgspec.Struct, kw_only=True):
    name: str
    registrar: str | None  # None where the status is shown to anyone (/healthz)
    username: str | None
    state: TrunkState
    code: int | None = None  # the registrar's last answer
    reason: str | None = None
    hint: str | None = None  # what an operator can do about a failure
    last_success: str | None = None  # ISO 8601, UTC
    failures: int = 0  # in a row
    next_retry_s: float | None = None
    expires_s: int | None = None


class SipStatus(msgspec.Struct, kw_only=True):
    state: SipState
    detail: str | None = None
    listen: str | None = None
    active_calls: int = 0  # conversations, counted against max_calls (every channel)
    max_calls: int = 0
    lines: int = 0  # SIP calls being handled, busy messages included
    trunks: list[TrunkStatus] = msgspec.field(default_factory=list)
    # Requests refused, and calls hung up, by reason: "refer" (a caller asked the box to dial a number: 603),
    # "replaces" (an INVITE asked to take over a call in progress: 603), "source" (an INVITE from an address that
    # is neither a trunk's nor in sip.trusted_sources: 403), "rate" (over sip.invites_per_second: 503),
    # "caller_rate" (a caller number over sip.calls_per_caller_per_hour: 603), and answered calls hung up:
    # "no_ack", "no_media", "rtp_source" (see sip.watch); "transfer": a transfer to a target that is not one of
    # the business's, stopped before the REFER.
    refusals: dict[str, int] = msgspec.field(default_factory=dict)

    def public(self) -> SipStatus:
        """Without the trunks' accounts and registrars: for /healthz, which anyone on the network may read."""
        trunks = [msgspec.structs.replace(t, registrar=None, username=None) for t in self.trunks]
        return msgspec.structs.replace(self, trunks=trunks)

    @property
    def healthy(self) -> bool:
        """Registered with every trunk that should be (or SIP is deliberately off)."""
        if self.state == "off":
            return True
        return self.state == "running" and all(t.state in ("registered", "not registering") for t in self.trunks)
