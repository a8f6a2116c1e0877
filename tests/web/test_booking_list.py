"""The bookings staff list carry the reference the caller was told, so staff can read it out to them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.calendars.base import NewBooking
from core.calendars.builtin import BuiltinCalendar
from core.store.database import Store
from web.queries.work import TenantBookings


async def test_a_listed_booking_has_its_reference() -> None:
    store = Store.memory()
    zone = ZoneInfo("Europe/London")
    start = datetime(2026, 7, 8, 10, 0, tzinfo=zone)
    booked = await BuiltinCalendar(store, "salon", zone).create(
        NewBooking("Cut", start, start + timedelta(minutes=30), "Iain Ross", "07700900456"), timedelta(0)
    )
    [listed] = TenantBookings(store, "salon").list()
    assert booked.reference and listed.reference == booked.reference
    assert TenantBookings(store, "salon").get(booked.id).reference == booked.reference
