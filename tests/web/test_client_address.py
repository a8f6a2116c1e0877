"""The login throttle per account as well as per address, and the client's address: X-Forwarded-For counts only
from a configured trusted proxy, so a guesser can neither hide behind a shared proxy address nor escape the
throttle by writing the header."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx
import msgspec
import pytest
from litestar.connection import ASGIConnection

from appliance.runtime import Runtime
from tests.conftest import settings_for
from tests.web.harness import Served, serve
from tests.web.seed import PASSWORD, Seeded, seed
from web.auth.client import TrustedProxies
from web.auth.throttle import LoginThrottle
from web.settings import WebSettings

if TYPE_CHECKING:
    from litestar.types import HTTPScope


def test_one_account_is_throttled_across_addresses() -> None:
    now = [0.0]
    throttle = LoginThrottle(attempts=3, window_s=60, clock=lambda: now[0])
    # Three addresses, two failures each: no address reaches its own limit of three...
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        for _ in range(2):
            assert throttle.retry_after(address, "ann@x.example") == 0
            throttle.failed(address, "ann@x.example")
    # ...but the account has had six, its limit across addresses: a fourth address is held up too.
    assert throttle.retry_after("10.0.0.4", "Ann@x.example") == pytest.approx(60)
    assert throttle.retry_after("10.0.0.4", "bob@x.example") == 0
    now[0] = 61.0
    assert throttle.retry_after("10.0.0.4", "ann@x.example") == 0


def _connection(peer: str, *forwarded: str) -> ASGIConnection[Any, Any, Any, Any]:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    scope = {"type": "http", "client": (peer, 50000), "headers": headers, "path": "/"}
    return ASGIConnection(cast("HTTPScope", scope))


def test_a_forwarded_address_counts_only_from_a_trusted_proxy() -> None:
    none = TrustedProxies([])
    assert none.client_address(_connection("127.0.0.1", "203.0.113.9")) == "127.0.0.1"
    local = TrustedProxies(["127.0.0.1", "10.1.0.0/16"])
    assert local.client_address(_connection("127.0.0.1", "203.0.113.9")) == "203.0.113.9"
    # The client may write its own header; the proxy appends what it saw: the right-most untrusted one counts.
    assert local.client_address(_connection("127.0.0.1", "198.51.100.1, 203.0.113.9")) == "203.0.113.9"
    assert local.client_address(_connection("127.0.0.1", "198.51.100.1", "203.0.113.9, 10.1.2.3")) == "203.0.113.9"
    # Not from the proxy: the header is the client's own word and is ignored.
    assert local.client_address(_connection("192.0.2.7", "203.0.113.9")) == "192.0.2.7"
    # Nothing forwarded, or garbage: the proxy's own address.
    assert local.client_address(_connection("127.0.0.1")) == "127.0.0.1"
    assert local.client_address(_connection("127.0.0.1", "not an address")) == "127.0.0.1"


def test_a_trusted_proxy_setting_must_be_an_address() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"'proxy\.lan' is not an address or network"):
        msgspec.convert({"trusted_proxies": ["proxy.lan"]}, WebSettings)


def _server(tmp_path: Path, models_dir: Path, trusted: list[str]) -> tuple[Runtime, Seeded]:
    settings = settings_for(tmp_path, models_dir)
    web = msgspec.structs.replace(settings.web, trusted_proxies=trusted, login_attempts=3)
    runtime = Runtime.open(msgspec.structs.replace(settings, web=web))
    return runtime, seed(runtime)


@pytest.fixture(scope="module", params=[[], ["127.0.0.1"]], ids=["no-proxy", "trusted-proxy"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, models_dir: Path
) -> Iterator[tuple[Served, Seeded, bool]]:
    runtime, data = _server(tmp_path_factory.mktemp("proxy"), models_dir, request.param)
    with serve(runtime) as served:
        yield served, data, bool(request.param)
    runtime.close()


def test_guessing_from_many_forwarded_addresses_is_still_throttled(server: tuple[Served, Seeded, bool]) -> None:
    served, data, behind_proxy = server
    statuses = []
    with httpx.Client(base_url=served.url) as client:
        for i in range(7):
            form = client.get("/login")
            token = re.search(r'name="_csrf" value="([^"]+)"', form.text)
            assert token is not None
            reply = client.post(
                "/login",
                data={"_csrf": token[1], "email": data.agent, "password": f"guess {i}"},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
            statuses.append(reply.status_code)
        address = served.runtime.store.scalar("SELECT address FROM web_sessions LIMIT 1")
        assert address is None  # no guess got in
    if behind_proxy:
        # Each guess comes from another client address: the account's own limit (twice the per-address one) stops
        # them after six.
        assert statuses == [401] * 6 + [429]
    else:
        # The header is ignored: every guess is from 127.0.0.1, stopped after three.
        assert statuses == [401] * 3 + [429] * 4
    # A session records the address the throttle saw.
    with httpx.Client(base_url=served.url) as client:
        form = client.get("/login")
        token = re.search(r'name="_csrf" value="([^"]+)"', form.text)
        assert token is not None
        reply = client.post(
            "/login",
            data={"_csrf": token[1], "email": data.owner, "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.50"},
        )
        assert reply.status_code in (302, 303)
    recorded = served.runtime.store.scalar("SELECT address FROM web_sessions")
    assert recorded == ("203.0.113.50" if behind_proxy else "127.0.0.1")
