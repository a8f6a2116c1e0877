"""Retention reaches every table that holds a caller's data, and a business's owner can have everything about one
caller's number deleted (a data-subject request), by API and by the CLI, with an audit row that keeps counts,
not the number. Against the real app on loopback and its store."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import numpy as np
import pytest
from click.testing import CliRunner

from appliance.runtime import Runtime
from appliance.server_file import ServerFile
from core.audio import write_wav
from core.records import CallRecord, ToolCallRecord, TurnRecord
from core.store.calls import CallRepository
from core.store.database import Store, new_id, utcnow
from core.tenants.document import parse_tenant
from tests.conftest import settings_for
from tests.web.harness import Served, serve
from web.retention import purge
from web.store.accounts import Accounts

SHOP = "sydney-plumbing"
OTHER = "other-shop"
PASSWORD = "a long test password 42"
OWNER, SUPERVISOR = "owner@plumb.example", "super@plumb.example"
CALLER = "+61412345678"  # the data subject; written "0412 345 678" in places
BYSTANDER = "+61498765432"


def _call(store: Store, tenant: str, caller: str, days_ago: int, recordings: Path | None = None) -> str:
    calls = CallRepository(store)
    started = utcnow() - timedelta(days=days_ago)
    call = CallRecord(
        id=new_id("call"), tenant_id=tenant, assistant_id="default", channel="sip", caller=caller,
        callee="+61299990000", started_at=started,
    )  # fmt: skip
    calls.start(call)
    turn = TurnRecord(idx=0, started_at=started, source="speech", caller="I'm Jane, book me in", reply="Done, Jane")
    calls.add_turn(tenant, call.id, turn)
    calls.add_tool_call(
        tenant, call.id, 0, ToolCallRecord(name="book", arguments={"name": "Jane"}, result={}, ok=True, latency_ms=3)
    )
    call.status, call.ended_at, call.duration_s = "ended", started, 30.0
    if recordings is not None:
        call.meta["recording"] = f"{tenant}/{call.id}.wav"
        write_wav(recordings / call.meta["recording"], np.zeros(800, np.int16), 8000)
    calls.finish(call)
    return call.id


def _caller_records(
    store: Store, tenant: str, call_id: str | None, phone: str, when: datetime, starts: datetime
) -> None:
    store.execute(
        "INSERT INTO bookings (id, tenant_id, call_id, service, starts_at, ends_at, customer_name, customer_phone, "
        "status, notes, created_at, reference) VALUES (?, ?, ?, 'Blocked drain', ?, ?, 'Jane Citizen', ?, 'booked', "
        "'side gate code 4411', ?, '123456')",
        [new_id("bk"), tenant, call_id, starts, starts + timedelta(hours=1), phone, when],
    )
    store.execute(
        "INSERT INTO leads VALUES (?, ?, ?, 'Jane Citizen', ?, 'leaking hot water unit', 'urgent', 'new', ?)",
        [new_id("lead"), tenant, call_id, phone, when],
    )
    store.execute(
        "INSERT INTO messages VALUES (?, ?, ?, 'Jane Citizen', ?, 'call me back about the quote', 'new', ?)",
        [new_id("msg"), tenant, call_id, phone, when],
    )
    for target, body, status in (
        (phone, "Your booking is confirmed, Jane", "sent"),
        ("owner@plumb.example", f"New lead: Jane Citizen, {phone[:-6]} {phone[-6:]}", "failed"),
    ):
        store.execute(
            "INSERT INTO notifications (id, tenant_id, call_id, kind, channel, target, subject, body, status, "
            "attempts, created_at) VALUES (?, ?, NULL, 'lead', 'sms', ?, NULL, ?, ?, 1, ?)",
            [new_id("n"), tenant, target, body, status, when],
        )
    store.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, 'sms.refused', ?, ?)",
        [
            new_id("audit"),
            tenant,
            when,
            f"call:{call_id}",
            phone,
            f'{{"reason": "daily_limit", "call_id": "{call_id}"}}',
        ],
    )


def _count(store: Store, table: str, tenant: str) -> int:
    return int(store.scalar(f"SELECT count(*) FROM {table} WHERE tenant_id = ?", [tenant]))


def test_retention_covers_every_table_with_a_caller_s_data(tmp_path: Path) -> None:
    store = Store.memory()
    recordings = tmp_path / "recordings"
    now = utcnow()
    old = _call(store, SHOP, CALLER, 100, recordings)
    _caller_records(store, SHOP, old, CALLER, now - timedelta(days=100), now - timedelta(days=95))
    # Made long ago, but the appointment is still to come: it must not lose its caller.
    _caller_records(store, SHOP, None, BYSTANDER, now - timedelta(days=100), now + timedelta(days=3))
    recent = _call(store, SHOP, CALLER, 2)
    _caller_records(store, SHOP, recent, CALLER, now - timedelta(days=2), now - timedelta(days=1))
    store.execute(  # a notification still being sent waits for its last attempt
        "INSERT INTO notifications (id, tenant_id, kind, channel, target, body, status, created_at) "
        "VALUES ('n-pending', ?, 'lead', 'sms', ?, 'Jane, confirmed', 'retrying', ?)",
        [SHOP, CALLER, now - timedelta(days=100)],
    )
    store.execute("INSERT INTO retention VALUES (?, NULL, 30, ?)", [SHOP, now])

    totals = purge(store, recordings)
    assert totals == {
        "recordings": 0, "calls": 1, "bookings": 1, "leads": 2, "messages": 2, "notifications": 4, "audit": 2,
    }  # fmt: skip
    assert not list((recordings / SHOP).iterdir())
    assert [r[0] for r in store.rows("SELECT id FROM calls")] == [recent]
    assert {r[0] for r in store.rows("SELECT call_id FROM turns")} == {recent}
    assert {r[0] for r in store.rows("SELECT call_id FROM tool_calls")} == {recent}
    assert _count(store, "leads", SHOP) == 1 and _count(store, "messages", SHOP) == 1
    assert {
        r[0] for r in store.rows("SELECT id FROM notifications WHERE created_at < ?", [now - timedelta(days=30)])
    } == {"n-pending"}
    bookings = store.dicts("SELECT * FROM bookings ORDER BY starts_at")
    past, recent_booking, future = bookings
    # The past booking stays for the accounts (service, time, status), without the caller.
    assert past["service"] == "Blocked drain" and past["status"] == "booked"
    assert (past["customer_name"], past["customer_phone"], past["notes"], past["reference"], past["call_id"]) == (
        "", "", None, None, None,
    )  # fmt: skip
    assert future["customer_phone"] == BYSTANDER and future["notes"] == "side gate code 4411"
    assert recent_booking["customer_phone"] == CALLER
    refused = store.dicts("SELECT target, detail FROM audit_log WHERE action = 'sms.refused' ORDER BY occurred_at")
    assert refused[0] == {"target": "(erased)", "detail": None} and refused[-1]["target"] == CALLER
    actions = {r[0] for r in store.rows("SELECT action FROM audit_log WHERE actor = 'retention'")}
    assert {"retention.purge_calls", "retention.purge_bookings", "retention.purge_notifications"} <= actions
    assert set(purge(store, recordings).values()) == {0}


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Served]:
    runtime = Runtime.open(settings_for(tmp_path_factory.mktemp("erasure-box"), models_dir))
    for tenant in (SHOP, OTHER):
        doc = {"id": tenant, "name": tenant, "timezone": "Australia/Sydney", "numbers": [f"+6129999{len(tenant):04d}"]}
        runtime.tenants.save(parse_tenant(doc), replace=False, actor="test")
    accounts = Accounts(runtime.store)
    accounts.grant(accounts.create(email=OWNER, name="Owner", password=PASSWORD), SHOP, "owner")
    accounts.grant(accounts.create(email=SUPERVISOR, name="Super", password=PASSWORD), SHOP, "supervisor")
    with serve(runtime) as served:
        yield served
    runtime.close()


async def _signed_in(box: Served, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=box.url)
    form = await client.get("/login")
    found = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert found, form.text
    done = await client.post(
        "/login", data={"_csrf": found.group(1), "next": "/", "email": email, "password": PASSWORD}
    )
    assert done.status_code in (302, 303), done.text
    page = await client.get(f"/t/{SHOP}/calls")
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    assert csrf, page.text
    client.headers["X-CSRF-Token"] = csrf.group(1)
    return client


@pytest.fixture
async def owner(box: Served) -> AsyncIterator[httpx.AsyncClient]:
    client = await _signed_in(box, OWNER)
    yield client
    await client.aclose()


def _seed_subject(box: Served) -> tuple[str, str]:
    store, recordings = box.runtime.store, box.runtime.settings.recordings_path
    now = utcnow()
    theirs = _call(store, SHOP, "0412 345 678", 3, recordings)  # the carrier sent the national form
    _caller_records(store, SHOP, theirs, "0412345678", now - timedelta(days=3), now + timedelta(days=2))
    _caller_records(store, SHOP, None, CALLER, now - timedelta(days=1), now + timedelta(days=5))
    kept = _call(store, SHOP, BYSTANDER, 3)
    _caller_records(store, SHOP, kept, BYSTANDER, now, now + timedelta(days=1))
    _call(store, OTHER, CALLER, 3)  # another business's caller with the same number is not this business's
    _caller_records(store, OTHER, None, CALLER, now, now + timedelta(days=1))
    return theirs, kept


async def test_an_owner_deletes_everything_about_one_caller(box: Served, owner: httpx.AsyncClient) -> None:
    store = box.runtime.store
    theirs, kept = _seed_subject(box)
    recording = box.runtime.settings.recordings_path / SHOP / f"{theirs}.wav"
    assert recording.exists()
    before_other = {t: _count(store, t, OTHER) for t in ("calls", "bookings", "leads", "messages", "notifications")}

    supervisor = await _signed_in(box, SUPERVISOR)
    try:
        refused = await supervisor.delete(f"/api/v1/tenants/{SHOP}/callers/{CALLER}")
    finally:
        await supervisor.aclose()
    assert refused.status_code == 403 and _count(store, "leads", SHOP) == 3
    bad = await owner.delete(f"/api/v1/tenants/{SHOP}/callers/jane")
    assert bad.status_code == 400 and "not a phone number" in bad.json()["detail"]

    done = await owner.delete(f"/api/v1/tenants/{SHOP}/callers/%2B61%20412%20345%20678")
    assert done.status_code == 200, done.text
    assert done.json() == {
        "calls": 1, "recordings": 1, "bookings": 2, "leads": 2, "messages": 2, "notifications": 4, "audit": 3,
        "tests": 0,
    }  # fmt: skip
    # audit: two refused texts to the number, and the supervisor's refused attempt, whose path named it
    assert not recording.exists()
    assert [r[0] for r in store.rows("SELECT id FROM calls WHERE tenant_id = ?", [SHOP])] == [kept]
    assert {r[0] for r in store.rows("SELECT call_id FROM turns WHERE tenant_id = ?", [SHOP])} == {kept}
    for table, column in (("bookings", "customer_phone"), ("leads", "phone"), ("messages", "phone")):
        assert {r[0] for r in store.rows(f"SELECT {column} FROM {table} WHERE tenant_id = ?", [SHOP])} == {BYSTANDER}
    bodies = " ".join(r[0] for r in store.rows("SELECT target || body FROM notifications WHERE tenant_id = ?", [SHOP]))
    assert "412" not in bodies and "498 765432" in bodies
    dump = " ".join(str(r) for r in store.rows("SELECT target, detail FROM audit_log WHERE tenant_id = ?", [SHOP]))
    assert "412345678" not in dump and theirs not in dump
    assert {t: _count(store, t, OTHER) for t in before_other} == before_other
    row = store.dicts("SELECT actor, target, detail FROM audit_log WHERE action = 'caller.erase'")
    assert len(row) == 1 and row[0]["actor"].startswith("user:")
    assert row[0]["target"] == "***678" and msgspec.json.decode(row[0]["detail"])["bookings"] == 2
    # Nothing left: asking again deletes nothing, and says so.
    again = await owner.delete(f"/api/v1/tenants/{SHOP}/callers/0412345678")
    assert again.status_code == 200 and set(again.json().values()) == {0}


def test_the_cli_sends_a_data_subject_request_to_the_running_server(box: Served, models_dir: Path) -> None:
    from appliance import logs
    from appliance.cli import cli

    store = box.runtime.store
    _caller_records(store, SHOP, None, "+61 400 111 222", utcnow(), utcnow() + timedelta(days=1))
    settings = box.runtime.settings
    settings.run_path.mkdir(parents=True, exist_ok=True)
    note = ServerFile(os.getpid(), box.url, box.cli_token)
    (settings.run_path / "server.json").write_bytes(msgspec.json.encode(note))
    env = {"APPLIANCE_DATA_DIR": str(settings.data_path), "APPLIANCE_MODELS__DIR": str(models_dir)}
    try:
        refused = CliRunner().invoke(cli, ["tenant", "forget-caller", SHOP, "0400111222"], input="n\n", env=env)
        assert refused.exit_code != 0 and _count(store, "leads", SHOP) >= 1
        assert store.scalar("SELECT count(*) FROM leads WHERE phone = '+61 400 111 222'") == 1
        done = CliRunner().invoke(cli, ["tenant", "forget-caller", SHOP, "0400 111 222", "--yes"], env=env)
    finally:
        (settings.run_path / "server.json").unlink()
        logs.configure("info", None)
    assert done.exit_code == 0, done.output
    assert "erased 0400 111 222" in done.output and "1 leads" in done.output
    assert store.scalar("SELECT count(*) FROM leads WHERE phone = '+61 400 111 222'") == 0
    assert store.scalar("SELECT actor FROM audit_log WHERE action = 'caller.erase' ORDER BY occurred_at DESC") == "cli"
