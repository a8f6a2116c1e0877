"""SIP over the API: each trunk's registration and the calls in progress on the box's phone line.

The trunks serve every business on the box, and their accounts (username, registrar) are the installer's to
see: the box's whole line is for installers; a business's settings show its owner the same status without them,
as /healthz shows anyone."""

from __future__ import annotations

from litestar import get

from sip.startup import sip_status
from sip.status import SipStatus
from web.api.paths import TENANT
from web.auth.policy import Permission
from web.host import WebHost
from web.scope import TenantScope


@get("/api/v1/sip", permission="installer", sync_to_thread=False, tags=["sip"])
def sip_line(runtime: WebHost) -> SipStatus:
    """The box's phone line (installers): SIP running or not, each trunk's registration with its account and
    registrar (with what to do about a failure), and how many calls are on it. No password is shown."""
    return sip_status(runtime.telephony, runtime.settings.sip)


@get(f"{TENANT}/sip", permission=Permission.SETTINGS_READ, sync_to_thread=False, tags=["sip"])
def tenant_sip_line(view: TenantScope) -> SipStatus:
    """The phone line as the business's settings show it: each trunk's registration, without the trunks'
    accounts and registrars unless you may see the box's whole line (installers)."""
    runtime = view.web.runtime
    status = sip_status(runtime.telephony, runtime.settings.sip)
    return status if view.principal.may_add_businesses else status.public()
