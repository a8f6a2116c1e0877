"""Bookings made before references existed: a database file from then gains the column, its live bookings get a
reference staff can read out, and they are still found under their number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from core.calendars.base import NewBooking
from core.calendars.builtin import BuiltinCalendar
from core.store import database
from core.store.database import Store

ZONE = ZoneInfo("Europe/London")
NONE = timedelta(0)


def _file_before_references(path: Path) -> None:
    """A database file as a box made it before migration 0006: the older migrations and two bookings."""
    connection = duckdb.connect(str(path))
    store = Store(connection, path)
    store.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP)"
    )
    for version, name, sql in database._migrations():
        if version < 6:
            store.execute(sql)
            store.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name])
    for booking_id, status in (("bk_old", "booked"), ("bk_gone", "cancelled")):
        store.execute(
            "INSERT INTO bookings (id, tenant_id, service, starts_at, ends_at, customer_name, customer_phone, status, "
            "created_at) VALUES (?, 'salon', 'Cut', TIMESTAMP '2026-07-08 09:00', TIMESTAMP '2026-07-08 09:30', "
            "'Iain Ross', '07700900456', ?, TIMESTAMP '2026-07-01 09:00')",
            [booking_id, status],
        )
    connection.close()


async def test_old_bookings_get_a_reference_and_are_still_found(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _file_before_references(path)
    store = Store.open(path)
    references = dict(store.rows("SELECT id, reference FROM bookings"))
    assert references["bk_gone"] is None  # nobody will ask for a cancelled booking
    reference = references["bk_old"]
    assert isinstance(reference, str) and len(reference) == 6 and reference.isdigit()
    calendar = BuiltinCalendar(store, "salon", ZONE)
    after = datetime(2026, 7, 1, tzinfo=UTC)
    [found] = await calendar.find(["+447700900456", "07700900456"], after)
    assert found.id == "bk_old" and found.reference == reference
    assert [b.id for b in await calendar.find_reference(reference, after)] == ["bk_old"]
    store.close()


async def test_a_new_booking_gets_a_reference_of_its_own_and_a_moved_one_keeps_its_own() -> None:
    store = Store.memory()
    calendar = BuiltinCalendar(store, "salon", ZONE)
    start = datetime(2026, 7, 8, 10, 0, tzinfo=ZONE)
    made = [
        await calendar.create(
            NewBooking("Cut", start.replace(hour=h), start.replace(hour=h, minute=30), "A", "0"), NONE
        )
        for h in (10, 11, 12)
    ]
    assert len({b.reference for b in made}) == 3 and all(b.reference and len(b.reference) == 6 for b in made)
    kept = await calendar.create(
        NewBooking("Cut", start.replace(hour=14), start.replace(hour=14, minute=30), "A", "0", reference="123456"),
        NONE,
    )
    assert kept.reference == "123456"
    assert store.scalar("SELECT reference FROM bookings WHERE id = ?", [kept.id]) == "123456"
