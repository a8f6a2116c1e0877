"""DNS rebinding (issue 18): a page on another site whose name is re-pointed at the box must not reach the setup
wizard of an unconfigured box, nor the API. The box answers only to its addresses, ``localhost``, its own host
name and ``web.host_names``. Against the real app served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from appliance.runtime import Runtime
from core.tenants.document import parse_tenant
from tests.conftest import settings_for
from tests.web.harness import Served, serve
from web.auth.hosts import AllowedHosts, host_name_of
from web.settings import WebSettings
from web.store.accounts import Accounts

NAME = "reception.local"
SHOP = "corner-shop"


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Served]:
    """An unconfigured box (no account yet: /setup is open) reached as reception.local."""
    settings = settings_for(tmp_path_factory.mktemp("host-names"), models_dir)
    settings = msgspec.structs.replace(settings, web=msgspec.structs.replace(settings.web, host_names=[NAME]))
    runtime = Runtime.open(settings)
    runtime.tenants.save(
        parse_tenant({"id": SHOP, "name": "Corner Shop", "timezone": "Europe/London"}), replace=False, actor="test"
    )
    with serve(runtime) as served:
        yield served
    runtime.close()


def _port(served: Served) -> str:
    return served.url.rsplit(":", 1)[1]


async def test_a_rebound_name_cannot_reach_setup_or_the_api(box: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="appliance.web.hosts")
    cli = {"Authorization": f"Bearer {box.cli_token}"}
    async with httpx.AsyncClient(base_url=box.url) as client:
        for host in ("evil.example", f"evil.example:{_port(box)}", "EVIL.example.", "127.0.0.1.nip.io"):
            setup = await client.get("/setup", headers={"Host": host})
            assert setup.status_code == 421, (host, setup.text)
            assert setup.headers["content-type"].startswith("text/plain")
            assert "does not answer to the name" in setup.text and "web.host_names" in setup.text
        form = await client.post(
            "/setup",
            headers={"Host": "evil.example"},
            data={"_csrf": "x", "email": "attacker@evil.example", "password": "a long password 123"},
        )
        assert form.status_code == 421
        api = await client.get("/api/v1/tenants", headers={**cli, "Host": "evil.example"})
        assert api.status_code == 421, api.text
        assert "evil.example" in api.text

        # The box's addresses, localhost, and the configured name (any case, with its port) still work.
        for host in (
            f"127.0.0.1:{_port(box)}",
            "127.0.0.1",
            f"[::1]:{_port(box)}",
            "localhost",
            "Reception.Local:8080",
        ):
            assert (await client.get("/setup", headers={"Host": host})).status_code == 200, host
            assert (await client.get("/api/v1/tenants", headers={**cli, "Host": host})).status_code == 200, host
    assert Accounts(box.runtime.store).count() == 0
    logged = [r.getMessage() for r in caplog.records if r.name == "appliance.web.hosts"]
    # Once per name, with the name and what to do about it.
    assert len([m for m in logged if "'evil.example'" in m]) == 1, logged
    assert "web.host_names" in logged[0] and "/setup" in logged[0]


async def test_a_websocket_for_a_rebound_name_is_refused(box: Served) -> None:
    async def handshake(host: str) -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(_port(box)))
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /api/v1/tenants/{SHOP}/live/feed HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: Bearer {box.cli_token}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = (await asyncio.wait_for(reader.readline(), 10)).decode()
        writer.close()
        return status

    assert " 403 " in await handshake("evil.example")
    assert " 101 " in await handshake("127.0.0.1")
    assert " 101 " in await handshake(f"{NAME}:{_port(box)}")


def test_the_names_accepted() -> None:
    hosts = AllowedHosts(["reception.local"], own={"localhost", "box", "box.local"})
    for ok in ("reception.local", "RECEPTION.LOCAL.", "reception.local:8080", "box.local:8080", "localhost",
               "10.0.0.7", "10.0.0.7:8080", "[fe80::1]:8080", "[::1]", None):  # fmt: skip
        assert hosts.allows(ok), ok
    for refused in ("evil.example", "reception.local.evil.example", "10.0.0.7.nip.io", "", "[evil]:80"):
        assert not hosts.allows(refused), refused
    assert host_name_of("[::1]:8080") == "::1"
    assert host_name_of("Box.Local.:80") == "box.local"


def test_a_host_name_setting_is_a_plain_name() -> None:
    assert msgspec.convert({"host_names": ["reception.local", "box"]}, WebSettings).host_names
    for wrong in ("reception.local:8080", "http://reception.local", "*.local", "a/b", ""):
        with pytest.raises(msgspec.ValidationError, match="is not a host name"):
            msgspec.convert({"host_names": [wrong]}, WebSettings)
