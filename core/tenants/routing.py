"""Business hours or after hours: which greeting a call hears and where "a person" takes it.

A tenant without an ``[hours]`` table is treated as always open, so a missing table never turns every call into
an after-hours call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec

from core.tenants.document import TenantDocument
from core.tenants.telephony import NO_TRANSFER


@dataclass(frozen=True, slots=True)
class Routing:
    tenant: TenantDocument  # as this call sees it: the after-hours greeting and transfer already in place
    after_hours: bool


def is_open(tenant: TenantDocument, when: datetime) -> bool:
    """Whether ``when`` (aware, or naive UTC) falls within the tenant's opening hours (holidays closed), in its
    time zone."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(ZoneInfo(tenant.timezone))
    return tenant.open_at(local.date(), local.time().replace(tzinfo=None))


def route(tenant: TenantDocument, when: datetime) -> Routing:
    if not tenant.hours or is_open(tenant, when):
        return Routing(tenant, after_hours=False)
    return Routing(_after_hours(tenant), after_hours=True)


def variants(tenant: TenantDocument) -> list[TenantDocument]:
    """Every form a call to the tenant can take, so each one's prompt can be evaluated ahead of the first call."""
    after = _after_hours(tenant)
    return [tenant] if after == tenant or not tenant.hours else [tenant, after]


def _after_hours(tenant: TenantDocument) -> TenantDocument:
    telephony = tenant.telephony
    doc = tenant
    if telephony.after_hours_greeting.strip():
        doc = msgspec.structs.replace(
            doc, assistant=msgspec.structs.replace(doc.assistant, greeting=telephony.after_hours_greeting)
        )
    if telephony.after_hours_transfer.strip():
        number = "" if telephony.after_hours_transfer.strip() == NO_TRANSFER else telephony.after_hours_transfer
        doc = msgspec.structs.replace(doc, transfer=msgspec.structs.replace(doc.transfer, number=number))
    return doc
