"""Webhooks go through the guarded client: a business's endpoint on the box or its LAN only when its own
allow_hosts names it (another business's list does not count; metadata never), redirects checked; a failure is
the operator's log line and reaches no one else."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.records import CallRecord
from core.security.secrets import SecretBox, SecretStore
from core.store.database import Store, utcnow
from tests.servers.ports import web_server
from web.store.business import BusinessSettings
from web.webhooks import WebhookSender

ALLOWED = {"acme": ["127.0.0.1", "169.254.0.0/16"], "other": []}


async def _deliver(tmp_path: Path, hooks: dict[str, list[str]]) -> None:
    """Each business's webhooks (tenant -> URLs) told that a call ended."""
    store = Store.memory()
    business = BusinessSettings(store, SecretStore(store, SecretBox.from_file(tmp_path / "k")))
    for tenant, urls in hooks.items():
        for url in urls:
            business.add_webhook(tenant, url, ["call.ended"])
    sender = WebhookSender(business, lambda tenant_id: ALLOWED[tenant_id], backoff_s=0.0)
    for tenant in hooks:
        sender.call_ended(
            CallRecord(id=f"call_{tenant}", tenant_id=tenant, assistant_id="default", channel="sip", caller="+1",
                       callee=None, started_at=utcnow(), status="ended", outcome="booked")
        )  # fmt: skip
    await sender.drain()


async def test_each_business_reaches_only_what_its_own_allow_hosts_names(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with web_server() as (site, base):
        site.routes["/hook"] = (204, {}, b"")
        port = base.rsplit(":", 1)[1]
        with caplog.at_level(logging.WARNING):
            await _deliver(
                tmp_path,
                {
                    "acme": [base + "/hook", f"http://127.0.0.2:{port}/hook", "http://169.254.169.254/latest/"],
                    "other": [base + "/hook", "http://10.0.0.4/hook"],
                },
            )
    assert [(h["method"], h["path"]) for h in site.hits] == [("POST", "/hook")]  # acme's, at the address it listed
    assert "127.0.0.2 is a loopback address" in caplog.text  # on the box too, but not what acme listed
    assert "169.254.169.254 is a cloud metadata address" in caplog.text
    assert "127.0.0.1 is a loopback address" in caplog.text and "10.0.0.4 is a private address" in caplog.text


@pytest.mark.parametrize("status", [307, 308])
async def test_a_redirect_to_a_private_address_is_refused(
    tmp_path: Path, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with web_server() as (site, base):
        site.routes["/hook"] = (status, {"Location": "http://192.168.9.9/hook"}, b"")
        with caplog.at_level(logging.WARNING):
            await _deliver(tmp_path, {"acme": [base + "/hook"]})
    assert [h["path"] for h in site.hits] == ["/hook"] * 3  # three attempts, none of them followed
    assert "192.168.9.9 is a private address" in caplog.text
