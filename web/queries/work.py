"""A business's bookings and leads: the lists with their status, and the two things staff do to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from core.errors import InputError, NotFoundError
from core.store.database import Store

PAGE = 100


class Booking(msgspec.Struct, kw_only=True):
    id: str
    call_id: str | None
    service: str
    starts_at: datetime
    ends_at: datetime
    customer_name: str
    customer_phone: str
    status: str
    notes: str | None
    created_at: datetime
    calendar: str | None = None  # "builtin" or "caldav"
    reference: str | None = None  # what the caller was told, and quotes to change it from another phone


class Lead(msgspec.Struct, kw_only=True):
    id: str
    call_id: str | None
    name: str | None
    phone: str | None
    reason: str
    urgency: str
    status: str
    created_at: datetime


class TenantBookings:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self._store = store
        self._tenant = tenant_id

    def list(self, status: str | None = None, upcoming: bool = False, limit: int = PAGE) -> list[Booking]:
        where, params = ["tenant_id = ?"], [self._tenant]
        if status:
            where.append("status = ?")
            params.append(status)
        if upcoming:
            where.append("ends_at >= now()::TIMESTAMP")
        rows = self._store.dicts(
            f"SELECT * EXCLUDE (tenant_id) FROM bookings WHERE {' AND '.join(where)} ORDER BY starts_at LIMIT ?",
            [*params, _limit(limit)],
        )
        return [msgspec.convert(r, Booking) for r in rows]

    def get(self, booking_id: str) -> Booking:
        rows = self._store.dicts(
            "SELECT * EXCLUDE (tenant_id) FROM bookings WHERE id = ? AND tenant_id = ?", [booking_id, self._tenant]
        )
        if not rows:
            raise NotFoundError(f"no booking '{booking_id}'")
        return msgspec.convert(rows[0], Booking)

    def cancellable(self, booking_id: str) -> Booking:
        booking = self.get(booking_id)
        if booking.status == "cancelled":
            raise InputError("the booking is already cancelled")
        return booking


class TenantLeads:
    def __init__(self, store: Store, tenant_id: str) -> None:
        self._store = store
        self._tenant = tenant_id

    def list(self, status: str | None = None, limit: int = PAGE) -> list[Lead]:
        where, params = ["tenant_id = ?"], [self._tenant]
        if status:
            where.append("status = ?")
            params.append(status)
        rows = self._store.dicts(
            f"SELECT * EXCLUDE (tenant_id) FROM leads WHERE {' AND '.join(where)} ORDER BY created_at DESC LIMIT ?",
            [*params, _limit(limit)],
        )
        return [msgspec.convert(r, Lead) for r in rows]

    def get(self, lead_id: str) -> Lead:
        rows = self._store.dicts(
            "SELECT * EXCLUDE (tenant_id) FROM leads WHERE id = ? AND tenant_id = ?", [lead_id, self._tenant]
        )
        if not rows:
            raise NotFoundError(f"no lead '{lead_id}'")
        return msgspec.convert(rows[0], Lead)

    def mark_contacted(self, lead_id: str) -> Lead:
        lead = self.get(lead_id)
        if lead.status == "contacted":
            raise InputError("the lead is already marked contacted")
        self._store.execute(
            "UPDATE leads SET status = 'contacted' WHERE id = ? AND tenant_id = ?", [lead_id, self._tenant]
        )
        return self.get(lead_id)


def _limit(limit: int) -> int:
    if not 1 <= limit <= 1000:
        raise InputError("limit must be 1 to 1000")
    return limit


class AuditEntry(msgspec.Struct, kw_only=True):
    id: str
    occurred_at: datetime
    actor: str
    action: str
    target: str | None
    detail: Any


def audit_entries(store: Store, tenant_id: str, before: str | None, limit: int = PAGE) -> list[AuditEntry]:
    where, params = ["tenant_id = ?"], [tenant_id]
    if before:
        where.append("id < ?")
        params.append(before)
    rows = store.dicts(
        f"SELECT id, occurred_at, actor, action, target, detail FROM audit_log WHERE {' AND '.join(where)} "
        "ORDER BY occurred_at DESC, id DESC LIMIT ?",
        [*params, _limit(limit)],
    )
    for r in rows:
        r["detail"] = msgspec.json.decode(r["detail"]) if r["detail"] else None
    return [msgspec.convert(r, AuditEntry) for r in rows]
