"""The built-in calendar: bookings in the store. A booking is checked and written in one transaction under the
store's lock, so two calls can never take the same slot."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.calendars.base import Booked, NewBooking, Slot, SlotTaken
from core.store.database import Store, new_id, utcnow

REFERENCE_DIGITS = 6  # said and heard digit by digit; with the name on the booking, a guess has 1 in a million
_COLUMNS = "id, service, starts_at, ends_at, customer_name, customer_phone, status, reference"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def new_reference(store: Store, tenant_id: str) -> str:
    """A booking reference a caller can be told and say back: digits, none used by the business's live bookings.
    Call it under the store's lock (in the transaction that writes the booking) so two bookings cannot share one."""
    while True:
        reference = f"{secrets.randbelow(10**REFERENCE_DIGITS):0{REFERENCE_DIGITS}d}"
        taken = store.scalar(
            "SELECT count(*) FROM bookings WHERE tenant_id = ? AND reference = ? AND status = 'booked'",
            [tenant_id, reference],
        )
        if not taken:
            return reference


class BuiltinCalendar:
    def __init__(self, store: Store, tenant_id: str, zone: ZoneInfo) -> None:
        self._store = store
        self._tenant = tenant_id
        self._zone = zone

    def _local(self, stored: datetime) -> datetime:
        return stored.replace(tzinfo=UTC).astimezone(self._zone)

    async def busy(self, start: datetime, end: datetime) -> list[Slot]:
        rows = await asyncio.to_thread(
            self._store.rows,
            "SELECT starts_at, ends_at FROM bookings WHERE tenant_id = ? AND status = 'booked' "
            "AND starts_at < ? AND ends_at > ? ORDER BY starts_at",
            [self._tenant, _utc(end), _utc(start)],
        )
        return [Slot(self._local(a), self._local(b)) for a, b in rows]

    async def create(self, booking: NewBooking, buffer: timedelta) -> Booked:
        return await asyncio.to_thread(self._create, booking, buffer)

    def _create(self, booking: NewBooking, buffer: timedelta) -> Booked:
        booking_id = new_id("bk")
        with self._store.transaction():
            clash = self._store.scalar(
                "SELECT count(*) FROM bookings WHERE tenant_id = ? AND status = 'booked' "
                "AND starts_at < ? AND ends_at > ?",
                [self._tenant, _utc(booking.end + buffer), _utc(booking.start - buffer)],
            )
            if clash:
                raise SlotTaken(f"{booking.start.isoformat()} is no longer free")
            now = utcnow()
            reference = booking.reference or new_reference(self._store, self._tenant)
            self._store.execute(
                "INSERT INTO bookings (id, tenant_id, call_id, service, starts_at, ends_at, customer_name, "
                "customer_phone, status, notes, created_at, calendar, updated_at, reference) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, 'builtin', ?, ?)",
                [
                    booking_id,
                    self._tenant,
                    booking.call_id,
                    booking.service,
                    _utc(booking.start),
                    _utc(booking.end),
                    booking.name,
                    booking.phone,
                    booking.notes,
                    now,
                    now,
                    reference,
                ],
            )
        return Booked(
            booking_id, booking.service, booking.start, booking.end, booking.name, booking.phone, "booked", reference
        )

    async def find(self, phones: Sequence[str], after: datetime) -> list[Booked]:
        if not phones:
            return []
        marks = ", ".join("?" * len(phones))
        return await self._upcoming(f"customer_phone IN ({marks})", [*phones], after)

    async def find_reference(self, reference: str, after: datetime) -> list[Booked]:
        return await self._upcoming("reference = ?", [reference], after)

    async def _upcoming(self, where: str, params: list[str], after: datetime) -> list[Booked]:
        rows = await asyncio.to_thread(
            self._store.rows,
            f"SELECT {_COLUMNS} FROM bookings WHERE tenant_id = ? AND {where} AND status = 'booked' "
            "AND starts_at >= ? ORDER BY starts_at",
            [self._tenant, *params, _utc(after)],
        )
        return [Booked(r[0], r[1], self._local(r[2]), self._local(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    async def cancel(self, booking_id: str) -> None:
        await asyncio.to_thread(
            self._store.execute,
            "UPDATE bookings SET status = 'cancelled', updated_at = ? WHERE tenant_id = ? AND id = ?",
            [utcnow(), self._tenant, booking_id],
        )
