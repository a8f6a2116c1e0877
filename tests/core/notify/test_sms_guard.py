"""The SMS gateway is reached through the guarded client: an address on the box or its LAN only when
``notifications.allow_hosts`` names it (metadata never), redirects checked, and the reason a text was not sent
(kept with the notification, shown in the API) the same whatever the cause."""

from __future__ import annotations

import pytest

from core.notify.config import NotificationSettings
from core.notify.notifier import Notifier
from core.store.database import Store
from tests.servers.ports import closed_port, open_port, web_server

NEUTRAL = "SMS gateway: the service could not be reached"


async def _send(url: str, allow_hosts: list[str], timeout_s: float = 2.0) -> tuple[bool, str | None]:
    store = Store.memory()
    settings = NotificationSettings(
        sms_gateway_url=url, sms_gateway_token="t0ken", attempts=1, timeout_seconds=timeout_s, allow_hosts=allow_hosts
    )
    sent = await Notifier(store, settings).send(
        tenant_id="shop", call_id=None, kind="booking", channel="sms", target="+447700900123", subject="", body="Hi"
    )
    error: str | None = store.scalar("SELECT last_error FROM notifications")
    return sent, error


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:{port}/sms", "http://localhost:{port}/sms", "http://10.0.0.3/sms", "http://169.254.169.254/"],
)
async def test_loopback_lan_and_metadata_are_refused_without_allow_hosts(url: str) -> None:
    with web_server() as (site, base):
        sent, error = await _send(url.format(port=base.rsplit(":", 1)[1]), allow_hosts=[])
    assert not sent and error == NEUTRAL and site.hits == []


async def test_allow_hosts_reaches_the_gateway_it_names() -> None:
    with web_server() as (site, base):
        site.routes["/sms"] = (200, {}, b"{}")
        assert await _send(base + "/sms", allow_hosts=["127.0.0.1"]) == (True, None)
        assert await _send("http://169.254.169.254/", allow_hosts=["127.0.0.1", "169.254.0.0/16"]) == (False, NEUTRAL)
    [hit] = site.hits
    assert hit["method"] == "POST" and hit["headers"]["Authorization"] == "Bearer t0ken"


@pytest.mark.parametrize("status", [307, 308])
async def test_a_redirect_to_a_private_address_is_refused(status: int) -> None:
    with web_server() as (site, base):
        site.routes["/sms"] = (status, {"Location": "http://192.168.5.5/sms"}, b"")
        assert await _send(base + "/sms", allow_hosts=["127.0.0.1"]) == (False, NEUTRAL)
    assert len(site.hits) == 1


async def test_the_error_is_the_same_for_a_closed_port_and_open_ones() -> None:
    closed = closed_port()
    with open_port(b"SSH-2.0-OpenSSH_9.2\r\n") as ssh, open_port(None) as silent:
        results = [
            await _send(f"http://127.0.0.1:{port}/sms", ["127.0.0.1"], timeout_s=0.5) for port in (closed, ssh, silent)
        ]
        results.append(await _send(f"http://127.0.0.1:{ssh}/sms", []))
    assert results == [(False, NEUTRAL)] * 4
