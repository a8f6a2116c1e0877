"""The calendar interface, and the free slots a business can offer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from core.clock import localize
from core.tenants.document import TenantDocument


@dataclass(frozen=True, slots=True)
class Slot:
    start: datetime  # aware, in the business's zone
    end: datetime


@dataclass(frozen=True, slots=True)
class NewBooking:
    service: str
    start: datetime
    end: datetime
    name: str
    phone: str
    call_id: str | None = None
    notes: str = ""
    reference: str | None = None  # a booking moved keeps the one its caller was told; None: a new one


@dataclass(frozen=True, slots=True)
class Booked:
    id: str
    service: str
    start: datetime
    end: datetime
    name: str
    phone: str
    status: str
    reference: str | None = None  # what the caller is told to quote (bookings made before references had none)


class SlotTaken(Exception):
    """The slot was free a moment ago and is not any more."""


class Calendar(Protocol):
    async def busy(self, start: datetime, end: datetime) -> list[Slot]:
        """Everything booked that overlaps [start, end)."""
        ...

    async def create(self, booking: NewBooking, buffer: timedelta) -> Booked:
        """Book atomically: raises SlotTaken if anything (with ``buffer`` around it) overlaps."""
        ...

    async def find(self, phones: Sequence[str], after: datetime) -> list[Booked]:
        """The upcoming bookings under a phone number (given in each form it may have been written in)."""
        ...

    async def find_reference(self, reference: str, after: datetime) -> list[Booked]:
        """The upcoming bookings with a reference (one, unless two callers' references collided)."""
        ...

    async def cancel(self, booking_id: str) -> None: ...


def free_slots(
    tenant: TenantDocument,
    day: date,
    minutes: int,
    busy: list[Slot],
    earliest: datetime,
) -> list[Slot]:
    """Appointment slots of ``minutes`` on ``day`` within opening hours, on the tenant's grid, clear of ``busy``
    (with the buffer), not before ``earliest``."""
    if day.isoformat() in tenant.booking.holidays:
        return []
    zone = ZoneInfo(tenant.timezone)
    grid = timedelta(minutes=tenant.booking.slot_minutes)
    length = timedelta(minutes=minutes)
    buffer = timedelta(minutes=tenant.booking.buffer_minutes)
    slots = []
    for open_at, close_at in tenant.opening_hours()[_weekday(day)]:
        start = localize(datetime.combine(day, open_at), zone)
        close = localize(datetime.combine(day, close_at), zone)
        while start + length <= close:
            end = start + length
            clear = all(end + buffer <= b.start or start >= b.end + buffer for b in busy)
            if start >= earliest and clear:
                slots.append(Slot(start, end))
            start += grid
    return slots


def _weekday(day: date) -> str:
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
