"""Booking confirmations by text go only to the call's caller ID, in the business's country, and at most the
business's number a day; every refusal is audited and logged (once a minute per business and reason). Against the
real booking tool, the built-in calendar in a real store, and a loopback SMS gateway."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from core.calendars.builtin import BuiltinCalendar
from core.notify import to_callers
from core.notify.config import NotificationSettings
from core.notify.notifier import Notifier
from core.quiet import Quiet
from core.store.database import Store
from core.tenants.document import TenantDocument, parse_tenant
from core.tools.base import ToolBox, ToolContext
from core.tools.registry import tools_for
from tests.servers.http import Recorded, recording_server

ZONE = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 10, 8, 0, tzinfo=ZONE)  # a Tuesday morning
HOME = "+447700900123"

TENANT: dict[str, Any] = {
    "id": "corner-salon",
    "name": "Corner Salon",
    "timezone": "Europe/London",
    "numbers": ["+441314960000"],  # the business's own line: callers at home are in +44
    "hours": {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "services": [{"name": "Cut", "duration_minutes": 30}],
    "booking": {"slot_minutes": 30, "lead_minutes": 0},
}


@pytest.fixture
def gateway() -> Iterator[tuple[Recorded, str]]:
    with recording_server() as (recorded, url):
        yield recorded, url


@pytest.fixture(autouse=True)
def fresh_log_limit(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A log limiter of the test's own, on a clock the test moves."""
    clock = [0.0]
    monkeypatch.setattr(to_callers, "_ONCE", Quiet(to_callers.LOG_EVERY_S, lambda: clock[0]))
    return clock


class Box:
    def __init__(self, store: Store, url: str, caller: str | None, tenant: TenantDocument | None = None) -> None:
        self.tenant = tenant or parse_tenant(TENANT)
        self.notifier = Notifier(
            store, NotificationSettings(sms_gateway_url=url, attempts=1, allow_hosts=["127.0.0.1"])
        )
        context = ToolContext(
            tenant=self.tenant, call_id="call_1", caller_number=caller, now=lambda: NOW,
            calendar=BuiltinCalendar(store, self.tenant.id, ZONE), notifier=self.notifier, store=store,
            knowledge=None,
        )  # fmt: skip
        self.box = ToolBox(context, tools_for(self.tenant), timeout_s=5.0)

    async def book(self, slot: int, phone: str = "07700900999") -> dict[str, Any]:
        start = (datetime(2026, 3, 11, 9, 0, tzinfo=ZONE) + timedelta(minutes=30 * slot)).isoformat()
        record = await self.box.run("create_booking", {"service": "Cut", "start": start, "name": "Ana", "phone": phone})
        assert record.ok and record.result["booked"], record
        await self.notifier.drain()
        result: dict[str, Any] = record.result
        return result


def _refusals(store: Store) -> list[tuple[str, dict[str, Any]]]:
    rows = store.rows("SELECT target, detail FROM audit_log WHERE action = 'sms.refused' ORDER BY occurred_at")
    return [(target, msgspec.json.decode(detail)) for target, detail in rows]


async def test_the_text_goes_to_the_caller_id_never_to_the_number_given(gateway: tuple[Recorded, str]) -> None:
    sms, url = gateway
    store = Store.memory()
    booked = await Box(store, url, HOME).book(0, phone="+447700900555")
    assert booked["texted"] is True
    [text] = sms.requests
    assert text["body"]["to"] == HOME and f"Ref {booked['reference']}" in text["body"]["text"]
    national = await Box(store, url, "07700 900124").book(1)  # a carrier at home may send national numbers
    assert national["texted"] is True and sms.requests[-1]["body"]["to"] == "07700900124"
    assert _refusals(store) == []


@pytest.mark.parametrize(
    ("caller", "reason"),
    [
        (None, "no_caller_id"),  # withheld, or a test call from the browser
        ("anonymous", "no_caller_id"),
        ("+13125550142", "abroad"),
        ("00882123456789", "abroad"),
    ],
)
async def test_no_text_without_a_caller_id_at_home(
    gateway: tuple[Recorded, str], caplog: pytest.LogCaptureFixture, caller: str | None, reason: str
) -> None:
    sms, url = gateway
    store = Store.memory()
    with caplog.at_level(logging.WARNING, logger="core.notify.to_callers"):
        booked = await Box(store, url, caller).book(0, phone=HOME)
    assert booked["booked"] is True and booked["texted"] is False  # booked all the same, just not texted
    assert sms.requests == []
    assert store.scalar("SELECT count(*) FROM notifications WHERE channel = 'sms'") == 0
    [(target, detail)] = _refusals(store)
    assert detail["reason"] == reason and detail["call_id"] == "call_1"
    assert target == (caller.replace(" ", "") if caller else "no caller ID")
    [line] = _lines(caplog)
    assert "corner-salon" in line and "call_1" in line and to_callers._HINTS[reason] in line


async def test_a_business_without_an_international_number_texts_national_caller_ids_only(
    gateway: tuple[Recorded, str],
) -> None:
    sms, url = gateway
    store = Store.memory()
    tenant = parse_tenant({**TENANT, "numbers": ["1001"]})
    assert (await Box(store, url, HOME, tenant).book(0))["texted"] is False  # +44, and nothing says it is home
    assert (await Box(store, url, "07700900123", tenant).book(1))["texted"] is True
    told = parse_tenant({**TENANT, "numbers": ["1001"], "country_code": "44"})
    assert (await Box(store, url, HOME, told).book(2))["texted"] is True
    assert [r["body"]["to"] for r in sms.requests] == ["07700900123", HOME]


async def test_the_daily_limit_counts_texts_to_callers_and_logs_once_a_minute(
    gateway: tuple[Recorded, str], caplog: pytest.LogCaptureFixture, fresh_log_limit: list[float]
) -> None:
    sms, url = gateway
    store = Store.memory()
    tenant = parse_tenant({**TENANT, "notifications": {"sms_to_callers_per_day": 2, "owner_sms": "+447700900100"}})
    # A text to the owner is not a text to a caller: it does not count.
    Box(store, url, HOME, tenant).notifier.send(
        tenant_id=tenant.id, call_id=None, kind="lead", channel="sms", target="+447700900100", subject="", body="x"
    )
    # Yesterday's texts no longer count.
    store.execute(
        "INSERT INTO notifications (id, tenant_id, kind, channel, target, body, status, created_at) "
        "VALUES ('old', ?, 'booking_confirmation', 'sms', ?, 'x', 'sent', now()::TIMESTAMP - INTERVAL 25 HOUR)",
        [tenant.id, HOME],
    )
    with caplog.at_level(logging.WARNING, logger="core.notify.to_callers"):
        texted = [(await Box(store, url, HOME, tenant).book(slot))["texted"] for slot in range(5)]
        fresh_log_limit[0] += 61
        texted.append((await Box(store, url, HOME, tenant).book(5))["texted"])
    assert texted == [True, True, False, False, False, False]
    assert sum(1 for r in sms.requests if r["body"]["to"] == HOME) == 2
    refusals = _refusals(store)
    assert len(refusals) == 4 and all(d["reason"] == "daily_limit" and d["limit"] == 2 for _, d in refusals)
    lines = _lines(caplog)
    assert len(lines) == 2  # the first refusal, then the first a minute later
    assert lines[0].endswith("refused unlogged since the last line: 0") and lines[1].endswith(": 2")
    assert "sms_to_callers_per_day" in lines[0]
    other = parse_tenant({**TENANT, "id": "other-salon"})  # another business's limit is its own
    assert (await Box(store, url, HOME, other).book(0))["texted"] is True


async def test_bookings_at_the_same_moment_cannot_overshoot_the_limit(gateway: tuple[Recorded, str]) -> None:
    sms, url = gateway
    store = Store.memory()
    tenant = parse_tenant({**TENANT, "notifications": {"sms_to_callers_per_day": 5}})
    boxes = [Box(store, url, f"+4477009{i:05d}", tenant) for i in range(14)]
    results = await asyncio.gather(*(box.book(i) for i, box in enumerate(boxes)))
    assert sum(1 for r in results if r["texted"]) == 5
    assert store.scalar("SELECT count(*) FROM notifications WHERE channel = 'sms'") == 5
    assert len(sms.requests) == 5 and len(_refusals(store)) == 9


async def test_a_business_that_texts_nobody_refuses_nothing(gateway: tuple[Recorded, str]) -> None:
    sms, url = gateway
    store = Store.memory()
    tenant = parse_tenant({**TENANT, "notifications": {"confirm_bookings_by_sms": False}})
    assert (await Box(store, url, HOME, tenant).book(0))["texted"] is False
    assert sms.requests == [] and _refusals(store) == []


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The refusals' log lines, not what other parts log meanwhile (the store's migrations, in a full run)."""
    return [r.getMessage() for r in caplog.records if r.name == "core.notify.to_callers"]
