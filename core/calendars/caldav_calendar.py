"""The business's own CalDAV calendar (Radicale, Nextcloud, iCloud, ...).

Busy times come from the calendar itself, so appointments the staff enter in their calendar app are respected.
A booking is re-checked and written under a per-calendar lock; bookings are also kept in the store (with the
event's UID), so the staff UI lists them and a caller can cancel them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import caldav
from caldav.lib.error import DAVError

from core.calendars.base import Booked, NewBooking, Slot, SlotTaken
from core.calendars.builtin import BuiltinCalendar, new_reference
from core.calendars.caldav_http import GuardedSession, linked
from core.errors import ApplianceError
from core.outbound.client import OutboundClient, Unreachable
from core.outbound.guard import AddressPolicy, Guard
from core.store.database import Store, new_id, utcnow
from core.tenants.document import ALLOW_HOSTS, Caldav

log = logging.getLogger(__name__)

_LOCKS: dict[str, asyncio.Lock] = {}
TIMEOUT_S = 10.0  # each request to the CalDAV server


class CalendarUnavailable(ApplianceError):
    """The CalDAV server could not be reached or refused us."""


class CaldavCalendar:
    def __init__(
        self, config: Caldav, store: Store, tenant_id: str, zone: ZoneInfo, allow_hosts: list[str] | None = None
    ) -> None:
        self._config = config
        # The business's own calendar server may be on its LAN: reachable when its tenant file allow-lists it.
        self._guard = Guard(AddressPolicy(allow_hosts or [], ALLOW_HOSTS))
        self._store = store
        self._tenant = tenant_id
        self._zone = zone
        self._mirror = BuiltinCalendar(store, tenant_id, zone)
        self._calendar: Any = None
        self._lock = _LOCKS.setdefault(f"{config.url}|{config.calendar}", asyncio.Lock())

    async def busy(self, start: datetime, end: datetime) -> list[Slot]:
        slots: list[Slot] = await self._call(self._busy, start, end)
        return slots

    async def create(self, booking: NewBooking, buffer: timedelta) -> Booked:
        async with self._lock:
            if await self.busy(booking.start - buffer, booking.end + buffer):
                raise SlotTaken(f"{booking.start.isoformat()} is no longer free")
            uid = new_id("bk")
            if booking.reference is None:
                reference = await asyncio.to_thread(new_reference, self._store, self._tenant)
                booking = dataclasses.replace(booking, reference=reference)
            await self._call(self._save, booking, uid)
            await asyncio.to_thread(self._remember, booking, uid)
        return Booked(
            uid, booking.service, booking.start, booking.end, booking.name, booking.phone, "booked", booking.reference
        )

    async def find(self, phones: Sequence[str], after: datetime) -> list[Booked]:
        return await self._mirror.find(phones, after)

    async def find_reference(self, reference: str, after: datetime) -> list[Booked]:
        return await self._mirror.find_reference(reference, after)

    async def cancel(self, booking_id: str) -> None:
        await self._call(self._delete, booking_id)
        await self._mirror.cancel(booking_id)

    async def _call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn`` (the caldav library's blocking work) in a thread, its requests through the guarded client.
        A failure says only that the calendar is not answering; what happened goes to the log."""
        try:
            async with OutboundClient(self._guard, timeout_s=TIMEOUT_S) as client:
                with linked(client):
                    return await asyncio.to_thread(fn, *args)
        except Unreachable:  # the client has logged what happened
            log.error("CalDAV calendar of %s could not be reached", self._tenant)
        except (DAVError, OSError, ValueError) as exc:
            log.error("CalDAV calendar of %s (%s) failed: %s", self._tenant, self._config.url, exc)
        raise CalendarUnavailable("the calendar is not answering")

    def _open(self) -> Any:
        if self._calendar is None:
            client = caldav.DAVClient(  # type: ignore[operator]
                self._config.url,
                username=self._config.username or None,
                password=self._config.password or None,
                enable_rfc6764=False,  # no DNS discovery: the URL is the calendar's
            )
            client.session.close()
            client.session = GuardedSession()
            principal = client.principal()
            wanted = self._config.calendar
            found = [
                c
                for c in principal.calendars()
                if wanted in (c.get_display_name(), str(c.url).rstrip("/").split("/")[-1])
            ]
            self._calendar = found[0] if found else principal.make_calendar(name=wanted, cal_id=wanted)
        return self._calendar

    def _busy(self, start: datetime, end: datetime) -> list[Slot]:
        events = self._open().search(start=start, end=end, event=True, expand=True)
        slots = []
        for event in events:
            component = event.icalendar_component
            begin, finish = component.get("dtstart").dt, component.get("dtend")
            finish = finish.dt if finish is not None else begin + component.get("duration").dt
            slots.append(Slot(self._aware(begin), self._aware(finish)))
        return slots

    def _aware(self, value: datetime | date) -> datetime:
        if not isinstance(value, datetime):  # an all-day event blocks the whole day
            value = datetime.combine(value, datetime.min.time())
        if value.tzinfo is None:
            value = value.replace(tzinfo=self._zone)
        return value.astimezone(self._zone)

    def _save(self, booking: NewBooking, uid: str) -> None:
        self._open().save_event(
            dtstart=booking.start.astimezone(UTC),
            dtend=booking.end.astimezone(UTC),
            uid=uid,
            summary=f"{booking.service}: {booking.name}",
            description=(
                f"Booked by phone.\nName: {booking.name}\nPhone: {booking.phone}\nRef: {booking.reference}\n"
                f"{booking.notes}"
            ).strip(),
        )

    def _delete(self, uid: str) -> None:
        self._open().event_by_uid(uid).delete()

    def _remember(self, booking: NewBooking, uid: str) -> None:
        now = utcnow()
        self._store.execute(
            "INSERT INTO bookings (id, tenant_id, call_id, service, starts_at, ends_at, customer_name, customer_phone, "
            "status, notes, created_at, calendar, calendar_ref, updated_at, reference) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, 'caldav', ?, ?, ?)",
            [
                uid,
                self._tenant,
                booking.call_id,
                booking.service,
                booking.start.astimezone(UTC).replace(tzinfo=None),
                booking.end.astimezone(UTC).replace(tzinfo=None),
                booking.name,
                booking.phone,
                booking.notes,
                now,
                uid,
                now,
                booking.reference,
            ],
        )
