"""Bookings in a business's own CalDAV calendar, against a real Radicale server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import caldav
import httpx
import pytest

from core.calendars.base import NewBooking, SlotTaken
from core.calendars.caldav_calendar import CaldavCalendar, CalendarUnavailable
from core.notify.config import NotificationSettings
from core.notify.notifier import Notifier
from core.store.database import Store
from core.tenants.document import Caldav, parse_tenant
from core.tools.base import ToolBox, ToolContext
from core.tools.registry import tools_for
from tests.servers.mail import free_port

ZONE = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("radicale")
    users = folder / "users"
    users.write_text("studio:letmein\n")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(folder / "collections"), "--auth-type", "htpasswd",
         "--auth-htpasswd-filename", str(users), "--auth-htpasswd-encryption", "plain"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    for _ in range(100):
        try:
            httpx.get(url)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait()


def _calendar(url: str, store: Store, password: str = "letmein", name: str = "bookings") -> CaldavCalendar:
    config = Caldav(url=url, username="studio", password=password, calendar=name)
    return CaldavCalendar(config, store, "salon", ZONE, allow_hosts=["127.0.0.1"])  # Radicale on loopback


async def test_book_check_and_cancel(radicale: str) -> None:
    store = Store.memory()
    calendar = _calendar(radicale, store)
    start = datetime(2026, 7, 7, 10, 0, tzinfo=ZONE)
    assert await calendar.busy(start, start + timedelta(hours=8)) == []
    booked = await calendar.create(
        NewBooking("Men's cut", start, start + timedelta(minutes=30), "Iain Ross", "07700900456"), timedelta(0)
    )
    [busy] = await calendar.busy(start, start + timedelta(hours=8))
    assert busy.start == start and busy.end == start + timedelta(minutes=30)
    with pytest.raises(SlotTaken):
        await calendar.create(
            NewBooking("Men's cut", start + timedelta(minutes=15), start + timedelta(minutes=45), "Other", "0"),
            timedelta(0),
        )
    [mine] = await calendar.find(["07700900456"], start - timedelta(days=1))
    assert mine.id == booked.id and mine.reference == booked.reference and booked.reference
    [by_reference] = await calendar.find_reference(booked.reference, start - timedelta(days=1))
    assert by_reference.id == booked.id
    # Staff see the reference a caller quotes in their own calendar app.
    principal = caldav.DAVClient(radicale, username="studio", password="letmein").principal()  # type: ignore[operator]
    [own] = [c for c in principal.calendars() if c.get_display_name() == "bookings"]
    assert f"Ref: {booked.reference}" in str(own.event_by_uid(booked.id).icalendar_component.get("description"))
    await calendar.cancel(booked.id)
    assert await calendar.busy(start, start + timedelta(hours=8)) == []
    assert store.scalar("SELECT status FROM bookings WHERE id = ?", [booked.id]) == "cancelled"


async def test_the_staffs_own_events_count_as_busy(radicale: str) -> None:
    store = Store.memory()
    calendar = _calendar(radicale, store, name="staff-added")
    await calendar.busy(datetime(2026, 7, 8, tzinfo=ZONE), datetime(2026, 7, 9, tzinfo=ZONE))  # creates it
    principal = caldav.DAVClient(radicale, username="studio", password="letmein").principal()  # type: ignore[operator]
    [own] = [c for c in principal.calendars() if c.get_display_name() == "staff-added"]
    own.save_event(
        dtstart=datetime(2026, 7, 8, 13, 0, tzinfo=ZONE),
        dtend=datetime(2026, 7, 8, 14, 0, tzinfo=ZONE),
        summary="Dentist (Kirsty)",
    )
    tenant = parse_tenant({
        "id": "salon", "name": "Salon", "timezone": "Europe/London",
        "hours": {"wed": "09:00-17:00"},
        "services": [{"name": "Men's cut", "duration_minutes": 30}],
        "booking": {
            "calendar": "caldav",
            "caldav": {"url": radicale, "username": "studio", "password": "letmein", "calendar": "staff-added"},
            "lead_minutes": 0,
        },
        "notifications": {"confirm_bookings_by_sms": False},
        "allow_hosts": ["127.0.0.1"],
    })  # fmt: skip
    context = ToolContext(
        tenant=tenant, call_id=None, caller_number=None, now=lambda: datetime(2026, 7, 1, 9, 0, tzinfo=ZONE),
        calendar=calendar, notifier=Notifier(store, NotificationSettings()), store=store, knowledge=None,
    )  # fmt: skip
    box = ToolBox(context, tools_for(tenant), 10.0)
    check = await box.run(
        "check_availability", {"service": "Men's cut", "day": "2026-07-08", "from": "13:30", "to": "13:30"}
    )
    assert check.ok and check.result["free"] is False
    assert "2026-07-08T14:00:00+01:00" in check.result["slots"]  # the nearest times around the staff's event
    made = await box.run(
        "create_booking",
        {"service": "Men's cut", "start": "2026-07-08T14:00:00+01:00", "name": "Aileen Park", "phone": "07700900789"},
    )
    assert made.ok and made.result["booked"], made


async def test_a_wrong_password_is_a_clear_failure(radicale: str, tmp_path: Path) -> None:
    calendar = _calendar(radicale, Store.memory(), password="wrong")
    with pytest.raises(CalendarUnavailable, match="not answering"):
        await calendar.busy(datetime(2026, 7, 8, tzinfo=ZONE), datetime(2026, 7, 9, tzinfo=ZONE))
