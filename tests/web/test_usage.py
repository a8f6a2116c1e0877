"""Usage per business and month (what a reseller bills by): calls, minutes, LLM tokens, tool calls, SMS and email,
in the business's own months, over the API as JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from appliance.runtime import Runtime
from core.errors import InputError
from core.records import CallRecord, ToolCallRecord
from core.store.database import utcnow
from core.tenants.document import load_tenant_file
from tests.conftest import EXAMPLE_TENANT, settings_for
from tests.web.harness import serve
from web.queries.usage import usage

ZONE = "Australia/Melbourne"  # the example business's


def _month(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(ZONE)).strftime("%Y-%m")


def _call(runtime: Runtime, started: datetime, seconds: float, tokens: tuple[int, int], tools: int) -> None:
    call = CallRecord(id=f"call_{started:%Y%m%d%H%M%S}", tenant_id="example", assistant_id="default", channel="sip",
                      caller="+61400000001", callee=None, started_at=started)  # fmt: skip
    runtime.calls.start(call)
    call.ended_at, call.duration_s, call.status = started + timedelta(seconds=seconds), seconds, "ended"
    call.outcomes, call.outcome = ["booking_created"], "booking_created"
    call.llm_tokens_in, call.llm_tokens_out = tokens
    runtime.calls.finish(call)
    for _ in range(tools):
        runtime.calls.add_tool_call("example", call.id, 1, ToolCallRecord(name="create_booking", arguments={}))
    runtime.store.execute("UPDATE tool_calls SET created_at = ? WHERE call_id = ?", [started, call.id])
    # The post-call analysis adds its own tokens to the call's.
    runtime.calls.save_analysis(call.id, "failed", None, 100, 10)


def _sent(runtime: Runtime, at: datetime, channel: str, status: str = "sent") -> None:
    runtime.store.execute(
        "INSERT INTO notifications (id, tenant_id, kind, channel, target, body, status, created_at, sent_at) "
        "VALUES (?, 'example', 'booking', ?, 'x', 'y', ?, ?, ?)",
        [f"ntf_{at.timestamp()}_{channel}_{status}", channel, status, at, at if status == "sent" else None],
    )


@pytest.fixture
def box(tmp_path: Path, models_dir: Path) -> Runtime:
    runtime = Runtime.open(settings_for(tmp_path, models_dir))
    runtime.tenants.save(load_tenant_file(EXAMPLE_TENANT), replace=True, actor="test")
    now = utcnow()
    earlier = now - timedelta(days=45)
    _call(runtime, now - timedelta(hours=1), 90.0, (1200, 80), tools=2)
    _call(runtime, now - timedelta(hours=2), 30.0, (800, 40), tools=1)
    _call(runtime, earlier, 60.0, (500, 20), tools=0)
    _sent(runtime, now - timedelta(hours=1), "sms")
    _sent(runtime, now - timedelta(hours=1), "email")
    _sent(runtime, now - timedelta(hours=1), "sms", status="failed")  # never reached anyone: not billed
    _sent(runtime, earlier, "email")
    return runtime


async def test_usage_per_month_adds_up_what_was_used(box: Runtime) -> None:
    now = utcnow()
    rows = {row.month: row for row in usage(box.store, "example", ZONE, months=3)}
    assert len(rows) == 3 and list(rows)[-1] == _month(now)
    this, before = rows[_month(now - timedelta(hours=1))], rows[_month(now - timedelta(days=45))]
    assert (this.calls, this.minutes, this.tool_calls, this.sms_sent, this.emails_sent) == (2, 2.0, 3, 1, 1)
    assert (this.llm_tokens_in, this.llm_tokens_out) == (1200 + 800 + 200, 80 + 40 + 20)
    assert (before.calls, before.minutes, before.llm_tokens_in, before.emails_sent) == (1, 1.0, 600, 1)
    with pytest.raises(InputError):
        usage(box.store, "example", ZONE, months=0)
    box.close()


async def test_usage_over_the_api_as_json_and_csv(box: Runtime) -> None:
    with serve(box) as served:
        bearer = {"Authorization": f"Bearer {served.cli_token}"}
        async with httpx.AsyncClient(base_url=served.url, headers=bearer) as client:
            months = (await client.get("/api/v1/tenants/example/usage", params={"months": 2})).json()
            sheet = await client.get("/api/v1/tenants/example/usage/csv", params={"months": 2})
            wrong = await client.get("/api/v1/tenants/example/usage", params={"months": 99})
    assert [m["calls"] for m in months][-1] == 2
    assert sheet.headers["content-type"].startswith("text/csv") and "attachment" in sheet.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(sheet.text)))
    assert table[-1]["calls"] == "2" and table[-1]["llm_tokens_in"] == str(months[-1]["llm_tokens_in"])
    assert wrong.status_code == 400 and "months" in wrong.text
    box.close()
