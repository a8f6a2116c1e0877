"""Texts to callers: only to the number the call came from (its caller ID), only in the business's country, and
at most the business's number of them a day; never to a number a caller says.

A call costs whoever makes it next to nothing and each text costs the business, so a text to any number a caller
names is a way to send texts on the business's account (SMS pumping). Every refusal is recorded in the audit log
and logged: once a minute per business and reason, with how many went unlogged in between.
"""

from __future__ import annotations

import logging
from typing import Literal

from core.notify.notifier import Notifier, Quota
from core.quiet import Quiet
from core.store import audit
from core.store.database import Store
from core.tenants.document import TenantDocument, normalise_number
from core.tenants.numbers import at_home, calling_code

log = logging.getLogger(__name__)

# The notifications that are texts to callers, counted together against the daily limit.
CALLER_KINDS = ("booking_confirmation",)
LOG_EVERY_S = 60.0

# Why a caller was not texted: the business does not text callers, the call has no caller ID (withheld, or a test
# call from the browser), the caller ID is not in the business's country, or the day's texts are used up.
Unsent = Literal["off", "no_caller_id", "abroad", "daily_limit"]

_HINTS = {
    "no_caller_id": "the call has no caller ID (withheld, or a browser test call); texts go only to the caller ID",
    "abroad": "the caller ID is not in the business's country (country_code, or its numbers); set country_code "
    "if it is wrong",
    "daily_limit": "the business's texts to callers for the last 24 hours are used up; raise "
    "notifications.sms_to_callers_per_day if the calls are genuine",
}


_ONCE = Quiet(LOG_EVERY_S)


def text_caller(
    notifier: Notifier,
    store: Store,
    tenant: TenantDocument,
    *,
    call_id: str | None,
    caller_number: str | None,
    kind: str,
    subject: str,
    body: str,
) -> Unsent | None:
    """Text the caller at their caller ID when the business allows it; None when the text is on its way, else
    why not."""
    if not tenant.notifications.confirm_bookings_by_sms:
        return "off"
    number = normalise_number(caller_number or "")
    if not number or not any(c.isdigit() for c in number):
        return _refuse(store, tenant, call_id, "no_caller_id", kind, number)
    if not at_home(number, calling_code(tenant)):
        return _refuse(store, tenant, call_id, "abroad", kind, number)
    quota = Quota(kinds=CALLER_KINDS, most=tenant.notifications.sms_to_callers_per_day)
    sent = notifier.send_within(
        quota, tenant_id=tenant.id, call_id=call_id, kind=kind, channel="sms", target=number, subject=subject,
        body=body,
    )  # fmt: skip
    if sent is None:
        return _refuse(store, tenant, call_id, "daily_limit", kind, number)
    return None


def _refuse(store: Store, tenant: TenantDocument, call_id: str | None, why: Unsent, kind: str, number: str) -> Unsent:
    limit = tenant.notifications.sms_to_callers_per_day
    audit.record(
        store,
        tenant_id=tenant.id,
        actor=f"call:{call_id}" if call_id else "assistant",
        action="sms.refused",
        target=number or "no caller ID",
        detail={"reason": why, "kind": kind, "call_id": call_id, **({"limit": limit} if why == "daily_limit" else {})},
    )
    unlogged = _ONCE.due((tenant.id, why))
    if unlogged is not None:
        log.warning(
            "no %s text to the caller for tenant %s (call %s, caller ID %s): %s; refused unlogged since the last "
            "line: %d",
            kind, tenant.id, call_id, number or "none", _HINTS[why], unlogged,
        )  # fmt: skip
    return why
