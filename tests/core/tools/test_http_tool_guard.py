"""A business's own HTTP tool goes through the guarded client: loopback, LAN and metadata addresses are refused
unless the tenant file's allow_hosts names them (metadata never), every redirect is checked, and what the call
log, a simulated call and the API see of a failure is the same for every cause. Run through the real ToolBox."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.calendars.builtin import BuiltinCalendar
from core.notify.config import NotificationSettings
from core.notify.notifier import Notifier
from core.records import ToolCallRecord
from core.store.database import Store
from core.tenants.document import parse_tenant
from core.tools.base import ToolBox, ToolContext
from core.tools.registry import tools_for
from tests.servers.ports import closed_port, open_port, web_server

ZONE = ZoneInfo("Europe/London")
NEUTRAL = "order_status: the service could not be reached"


async def _run(url: str, allow_hosts: list[str], method: str = "POST", timeout_s: float = 2.0) -> ToolCallRecord:
    tool = {
        "name": "order_status", "description": "Where an order is", "url": url, "method": method,
        "timeout_seconds": timeout_s, "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
    }  # fmt: skip
    tenant = parse_tenant(
        {"id": "corner-shop", "name": "Corner Shop", "timezone": "Europe/London", "tools": [tool],
         "allow_hosts": allow_hosts}
    )  # fmt: skip
    store = Store.memory()
    context = ToolContext(
        tenant=tenant, call_id="call_1", caller_number=None, now=lambda: datetime(2026, 3, 10, 9, tzinfo=ZONE),
        calendar=BuiltinCalendar(store, tenant.id, ZONE), notifier=Notifier(store, NotificationSettings()),
        store=store, knowledge=None,
    )  # fmt: skip
    return await ToolBox(context, tools_for(tenant), timeout_s=10.0).run("order_status", {"order": "A1"})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/status",
        "http://localhost:{port}/status",
        "http://10.0.0.7/status",
        "http://192.168.1.20/status",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/status",
    ],
)
async def test_loopback_lan_and_metadata_are_refused_without_allow_hosts(url: str) -> None:
    with web_server() as (site, base):
        site.routes["/status"] = (200, {"Content-Type": "application/json"}, b'{"secret": "internal"}')
        record = await _run(url.format(port=base.rsplit(":", 1)[1]), allow_hosts=[])
    assert not record.ok and record.error == NEUTRAL and record.result is None
    assert site.hits == []


async def test_allow_hosts_lets_the_business_reach_exactly_its_own_host() -> None:
    with web_server() as (site, base):
        site.routes["/status"] = (200, {"Content-Type": "application/json"}, b'{"status": "shipped"}')
        port = base.rsplit(":", 1)[1]
        record = await _run(base + "/status", allow_hosts=["127.0.0.1"])
        assert record.ok and record.result == {"status": "shipped"}
        other = await _run(f"http://127.0.0.2:{port}/status", allow_hosts=["127.0.0.1"])
        assert not other.ok and other.error == NEUTRAL
        metadata = await _run("http://169.254.169.254/", allow_hosts=["127.0.0.1", "169.254.0.0/16"])
        assert not metadata.ok and metadata.error == NEUTRAL
    assert len(site.hits) == 1


@pytest.mark.parametrize(("method", "status"), [("POST", 307), ("POST", 308), ("GET", 302)])
async def test_a_redirect_to_a_private_address_is_refused(method: str, status: int) -> None:
    with web_server() as (site, base):
        site.routes["/status"] = (status, {"Location": "http://192.168.0.1/admin"}, b"")
        record = await _run(base + "/status", allow_hosts=["127.0.0.1"], method=method)
    assert not record.ok and record.error == NEUTRAL
    assert [hit["path"].split("?")[0] for hit in site.hits] == ["/status"]


async def test_the_error_is_the_same_for_a_closed_port_and_open_ones() -> None:
    closed = closed_port()
    with open_port(b"220 mail.example ESMTP\r\n") as smtp, open_port(None) as silent:
        records = [
            await _run(f"http://127.0.0.1:{port}/status", allow_hosts=["127.0.0.1"], timeout_s=0.5)
            for port in (closed, smtp, silent)
        ]
        records.append(await _run(f"http://127.0.0.1:{smtp}/status", allow_hosts=[]))  # refused before connecting
    assert [r.error for r in records] == [NEUTRAL] * 4
    assert all(r.result is None for r in records)


async def test_an_answer_that_is_not_json_says_so_and_no_more() -> None:
    with web_server() as (site, base):
        site.routes["/status"] = (200, {"Content-Type": "text/html"}, b"<html>router login</html>")
        record = await _run(base + "/status", allow_hosts=["127.0.0.1"])
    assert not record.ok and record.error == "order_status: the service did not answer with JSON"
