"""Whether ``appliance serve`` runs SIP, and what to report when it does not."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sip.service import SipService
from sip.settings import SipSettings
from sip.status import SipState, SipStatus, TrunkState, TrunkStatus

if TYPE_CHECKING:
    from core.calls.host import CallHost
    from sip.interfaces import Telephony

log = logging.getLogger("sip")


def off_reason(settings: SipSettings) -> str | None:
    if not settings.enabled:
        return "sip.enabled is false in the settings"
    if not settings.trunks:
        return "no trunk in the settings ([[sip.trunks]])"
    return None


def sip_service(host: CallHost, settings: SipSettings, *, rate: int, recordings: Path) -> SipService | None:
    reason = off_reason(settings)
    if reason is not None:
        log.info("SIP is off: %s", reason)
        return None
    return SipService(host, settings, rate=rate, recordings=recordings)


def sip_status(telephony: Telephony | None, settings: SipSettings) -> SipStatus:
    """The running service's status, or the settings' trunks as not running."""
    if telephony is not None:
        return telephony.status()
    return idle_status(settings, "off", off_reason(settings))


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
