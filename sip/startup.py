"""Whether ``appliance serve`` runs SIP, and what to report when it does not."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sip.service import SipService
from sip.settings import SipSettings
from sip.status import SipState, SipStatus, TrunkState, TrunkStatus

if TYPE_CHECKING:
    from appliance.runtime import Runtime

log = logging.getLogger("sip")


def off_reason(settings: SipSettings) -> str | None:
    if not settings.enabled:
        return "sip.enabled is false in the settings"
    if not settings.trunks:
        return "no trunk in the settings ([[sip.trunks]])"
    return None


def sip_service(runtime: Runtime) -> SipService | None:
    settings = runtime.settings
    reason = off_reason(settings.sip)
    if reason is not None:
        log.info("SIP is off: %s", reason)
        return None
    return SipService(runtime, settings.sip, rate=settings.calls.telephony_rate, recordings=settings.recordings_path)


def sip_status(runtime: Runtime) -> SipStatus:
    """The running service's status, or the settings' trunks as not running."""
    if runtime.telephony is not None:
        return runtime.telephony.status()
    return idle_status(runtime.settings.sip, "off", off_reason(runtime.settings.sip))


def idle_status(settings: SipSettings, state: SipState, detail: str | None) -> SipStatus:
    trunk_state: TrunkState = "not running"
    return SipStatus(
        state=state,
        detail=detail,
        max_calls=settings.max_calls,
        trunks=[
            TrunkStatus(name=t.name, registrar=t.registrar, username=t.username, state=trunk_state)
            for t in settings.trunks
        ],
    )
