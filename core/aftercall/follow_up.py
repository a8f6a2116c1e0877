"""The owner told what a call that left them work was about, once its summary is written.

A lead or a message reaches the owner during the call (``core.tools.contact``), before any summary exists; this
follows it by email with the summary, how the caller felt and a lead's score, so the owner can call back knowing
the call. Email only: a second text for the same call would cost the business and say little more."""

from __future__ import annotations

from core.notify.notifier import Notifier
from core.records import CallRecord
from core.tenants.document import TenantDocument

FOLLOWED = ("lead_captured", "message_taken")


def summary_to_owner(notifier: Notifier, tenant: TenantDocument, call: CallRecord) -> bool:
    """Email the owner the summary of ``call`` if it took a lead or a message; whether one was sent."""
    analysis = call.analysis
    owner = tenant.notifications.owner_email
    if analysis is None or not owner or not set(FOLLOWED) & set(call.outcomes):
        return False
    what = "lead" if "lead_captured" in call.outcomes else "message"
    lines = [analysis.summary, "", f"The caller sounded {analysis.sentiment}."]
    if analysis.lead_score is not None:
        reason = f" ({analysis.lead_reason})" if analysis.lead_reason else ""
        lines.append(f"Lead score: {analysis.lead_score} of 5{reason}.")
    lines.append(f"Call {call.id} from {call.caller or 'an unknown number'}.")
    notifier.send(
        tenant_id=tenant.id,
        call_id=call.id,
        kind="summary",
        channel="email",
        target=owner,
        subject=f"Summary of the call that left a {what}",
        body="\n".join(lines),
    )
    return True
