"""SIP over the API: each trunk's registration and the calls in progress on the box's phone line."""

from __future__ import annotations

from litestar import get

from sip.startup import sip_status
from sip.status import SipStatus
from web.host import WebHost


@get("/api/v1/sip", permission="signed_in", sync_to_thread=False, tags=["sip"])
def sip_line(runtime: WebHost) -> SipStatus:
    """The box's phone line: SIP running or not, each trunk's registration (with what to do about a failure),
    and how many calls are on it. The trunks serve every business on the box; no password is shown."""
    return sip_status(runtime.telephony, runtime.settings.sip)
