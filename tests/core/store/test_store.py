from datetime import timedelta
from pathlib import Path

import pytest

from core.errors import InputError, NotFoundError
from core.records import CallRecord, Latency, ToolCallRecord, TurnRecord
from core.store.calls import CallRepository
from core.store.database import Store, StoreLockedError, utcnow
from core.store.tenants import TenantRepository
from core.tenants.document import load_tenant_file, parse_tenant
from tests.conftest import EXAMPLE_TENANT


def test_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    Store.open(path).close()
    store = Store.open(path)
    assert store.scalar("SELECT count(*) FROM schema_migrations") >= 1
    tables = {row[0] for row in store.rows("SELECT table_name FROM information_schema.tables")}
    assert {
        "tenants",
        "calls",
        "turns",
        "tool_calls",
        "bookings",
        "leads",
        "notifications",
        "usage",
        "audit_log",
    } <= tables
    store.close()


def test_a_second_process_gets_a_clear_lock_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreLockedError, match="in use by another appliance process"):
            Store.open(path)
    finally:
        holder.kill()
        holder.wait()


def test_tenants_numbers_and_audit() -> None:
    store = Store.memory()
    tenants = TenantRepository(store)
    doc = load_tenant_file(EXAMPLE_TENANT)
    assert tenants.save(doc, replace=False, actor="test") is False
    assert tenants.by_number("+61 3 9555 0142") == "example"
    with pytest.raises(InputError, match="already exists"):
        tenants.save(doc, replace=False, actor="test")
    assert tenants.save(doc, replace=True, actor="test") is True
    other = parse_tenant({"id": "other", "name": "Other", "timezone": "UTC", "numbers": ["+61395550142"]})
    with pytest.raises(InputError, match="belongs to 'example'"):
        tenants.save(other, replace=False, actor="test")
    with pytest.raises(NotFoundError, match="known: example"):
        tenants.get("nope")
    actions = [row[0] for row in store.rows("SELECT action FROM audit_log ORDER BY occurred_at")]
    assert actions == ["tenant.create", "tenant.replace"]


def test_call_turns_tools_and_usage_round_trip() -> None:
    store = Store.memory()
    calls = CallRepository(store)
    started = utcnow()
    call = CallRecord(
        id="call_1",
        tenant_id="t",
        assistant_id="default",
        channel="simulated",
        caller="+1555",
        callee=None,
        started_at=started,
    )
    calls.start(call)
    turn = TurnRecord(
        idx=1,
        started_at=started,
        source="audio",
        caller="hello",
        reply="hi there",
        intent="question",
        latency_ms=Latency(endpoint=500, stt=600, llm_first_token=400, tts_first_audio=150, voice_to_voice=1650),
        tool_calls=[ToolCallRecord(name="lookup", arguments={"q": "x"}, result={"ok": 1}, latency_ms=3.5)],
    )
    calls.add_turn("t", "call_1", turn)
    calls.add_tool_call("t", "call_1", 1, turn.tool_calls[0])  # written as the tool returns, not with the turn
    call.ended_at, call.duration_s, call.status, call.outcome = (
        started + timedelta(seconds=30),
        30.0,
        "ended",
        "answered",
    )
    calls.finish(call)
    assert calls.get("call_1").outcome == "answered"
    with pytest.raises(NotFoundError):
        calls.get("call_1", tenant_id="someone-else")
    [back] = calls.turns("call_1")
    assert back.latency_ms.voice_to_voice == 1650
    assert back.tool_calls[0].arguments == {"q": "x"}
    assert store.rows("SELECT calls, call_seconds FROM usage WHERE tenant_id = 't'") == [(1, 30.0)]


def test_orphaned_calls_are_closed_on_open() -> None:
    store = Store.memory()
    calls = CallRepository(store)
    calls.start(
        CallRecord(
            id="c",
            tenant_id="t",
            assistant_id="a",
            channel="sip",
            caller=None,
            callee=None,
            started_at=utcnow(),
        )
    )
    assert calls.close_orphans() == 1
    assert calls.get("c").status == "interrupted"
    assert calls.close_orphans() == 0
