"""The one guarded client (``core.outbound.client``): every hop checked before it is connected to, connected to
the address that was checked, no proxy from the environment, redirects followed only when the request can be
repeated as it was, and one message for every failure. Only 127.0.0.1 is ever connected to."""

from __future__ import annotations

import ipaddress
import logging

import pytest

from core.outbound.client import UNREACHABLE, OutboundClient, Unreachable
from core.outbound.guard import AddressPolicy, Guard, IpAddress
from tests.servers.ports import closed_port, open_port, web_server


class ScriptedResolver:
    """DNS answers for names that cannot exist on a machine without a network, one per lookup, the last one
    repeated."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        self.lookups.append(host)
        answers = self.answers[host]
        return [ipaddress.ip_address(answers[min(self.lookups.count(host), len(answers)) - 1])]


def _client(allow: list[str], resolver: ScriptedResolver | None = None, timeout_s: float = 5.0) -> OutboundClient:
    return OutboundClient(Guard(AddressPolicy(allow, "allow_hosts"), resolver), timeout_s=timeout_s)


async def _failure(client: OutboundClient, url: str, method: str = "GET") -> Unreachable:
    with pytest.raises(Unreachable) as caught:
        await client.request(method, url, content=b"{}" if method == "POST" else None)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://10.0.0.1/",
        "http://192.168.1.1:8080/admin",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[::1]:{port}/",
        "http://0.0.0.0:{port}/",
    ],
)
async def test_loopback_lan_and_metadata_are_refused_before_connecting(url: str) -> None:
    with web_server() as (site, base):
        port = base.rsplit(":", 1)[1]
        async with _client([]) as client:
            failure = await _failure(client, url.format(port=port))
        assert failure.refused and str(failure) == UNREACHABLE
        assert site.hits == []


async def test_metadata_and_link_local_are_refused_even_when_allow_listed() -> None:
    async with _client(["169.254.0.0/16", "fe80::/10", "fd00::/8"]) as client:
        for url in ("http://169.254.169.254/", "http://169.254.1.1/", "http://[fe80::1]/", "http://[fd00:ec2::254]/"):
            failure = await _failure(client, url)
            assert failure.refused and ("metadata" in failure.detail or "link-local" in failure.detail)


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    with web_server() as (site, base):
        port = base.rsplit(":", 1)[1]
        async with _client([]) as client:  # localhost through the system resolver, as any name would be
            failure = await _failure(client, f"http://localhost:{port}/")
        assert failure.refused and "'localhost' resolves to" in failure.detail and "loopback" in failure.detail
        resolver = ScriptedResolver({"shop.example": ["10.9.8.7"], "meta.example": ["169.254.169.254"]})
        async with _client([], resolver) as client:
            assert "private" in (await _failure(client, "http://shop.example/")).detail
            assert "metadata" in (await _failure(client, "http://meta.example/")).detail
        assert site.hits == []


async def test_allow_hosts_permits_exactly_the_listed_host() -> None:
    with web_server() as (site, base):
        site.routes["/"] = (200, {"Content-Type": "application/json"}, b'{"ok": true}')
        port = base.rsplit(":", 1)[1]
        async with _client(["127.0.0.1"]) as client:
            assert (await client.request("GET", f"{base}/")).json() == {"ok": True}
            assert (await _failure(client, f"http://127.0.0.2:{port}/")).refused  # loopback, but not the one listed
            assert (await _failure(client, "http://10.0.0.1/")).refused
        async with _client(["localhost"]) as client:  # a name allows that name, not its address written out
            assert (await client.request("GET", f"http://localhost:{port}/")).status == 200
            assert (await _failure(client, f"{base}/")).refused
        assert [hit["path"] for hit in site.hits] == ["/", "/"]


async def test_every_redirect_is_checked_before_it_is_followed() -> None:
    with web_server() as (site, base):
        site.routes["/to-private"] = (302, {"Location": "http://10.0.0.5/"}, b"")
        site.routes["/to-metadata"] = (301, {"Location": "http://169.254.169.254/latest/"}, b"")
        site.routes["/to-name"] = (307, {"Location": "http://internal.example/"}, b"")
        site.routes["/to-loopback"] = (308, {"Location": "http://loop.example/"}, b"")
        site.routes["/to-file"] = (302, {"Location": "file:///etc/passwd"}, b"")
        site.routes["/ok"] = (302, {"Location": "/final"}, b"")
        site.routes["/final"] = (200, {}, b"arrived")
        resolver = ScriptedResolver({"internal.example": ["192.168.7.7"], "loop.example": ["127.0.0.53"]})
        async with _client(["127.0.0.1"], resolver) as client:
            for path, reason in (
                ("/to-private", "10.0.0.5 is a private"),
                ("/to-metadata", "metadata"),
                ("/to-name", "'internal.example' resolves to 192.168.7.7, which is a private"),
                ("/to-loopback", "'loop.example' resolves to 127.0.0.53, which is a loopback"),
                ("/to-file", "only http and https"),
            ):
                failure = await _failure(client, base + path)
                assert failure.refused and reason in failure.detail and str(failure) == UNREACHABLE
            answer = await client.request("GET", base + "/ok")
        assert answer.url == base + "/final" and answer.body == b"arrived"


async def test_a_post_is_followed_only_where_it_is_repeated_as_it_was() -> None:
    with web_server() as (site, base):
        site.routes["/moved"] = (302, {"Location": "/final"}, b"")
        site.routes["/again"] = (307, {"Location": "/final"}, b"")
        site.routes["/final"] = (200, {}, b"done")
        async with _client(["127.0.0.1"]) as client:
            assert (await client.request("POST", base + "/moved", content=b"body")).status == 302  # not made a GET
            answer = await client.request("POST", base + "/again", content=b"body")
        assert answer.status == 200 and answer.url == base + "/final"
        assert [(h["method"], h["path"], h["body"]) for h in site.hits] == [
            ("POST", "/moved", b"body"),
            ("POST", "/again", b"body"),
            ("POST", "/final", b"body"),
        ]


async def test_credentials_are_not_carried_to_another_origin() -> None:
    with web_server() as (site, base), web_server() as (other, other_base):
        port = other_base.rsplit(":", 1)[1]
        site.routes["/"] = (302, {"Location": f"http://localhost:{port}/there"}, b"")
        other.routes["/there"] = (200, {}, b"")
        async with _client(["127.0.0.1", "localhost"]) as client:
            await client.request("GET", base + "/", headers={"Authorization": "Bearer secret", "X-Kept": "1"})
        assert site.hits[0]["headers"]["Authorization"] == "Bearer secret"
        assert "Authorization" not in other.hits[0]["headers"] and other.hits[0]["headers"]["X-Kept"] == "1"


async def test_the_connection_goes_to_the_checked_address_even_if_dns_changes() -> None:
    with web_server() as (site, base):
        site.routes["/"] = (200, {}, b"checked")
        port = base.rsplit(":", 1)[1]
        resolver = ScriptedResolver({"rebind.example": ["127.0.0.1", "10.0.0.1"]})
        async with _client(["127.0.0.1"], resolver) as client:
            answer = await client.request("GET", f"http://rebind.example:{port}/")
            assert answer.body == b"checked" and resolver.lookups == ["rebind.example"]
            assert site.hits[0]["headers"]["Host"] == f"rebind.example:{port}"
            failure = await _failure(client, f"http://rebind.example:{port}/")
        assert "resolves to 10.0.0.1, which is a private" in failure.detail
        assert len(site.hits) == 1


async def test_no_proxy_is_taken_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The "proxy" is the test's own server: a client that used it would send it the request for 10.0.0.1.
    with web_server() as (proxy, proxy_url), web_server() as (site, base):
        site.routes["/"] = (200, {}, b"direct")
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with _client(["127.0.0.1"]) as client:
            assert (await client.request("GET", base + "/")).body == b"direct"
            assert (await _failure(client, "http://10.0.0.1/")).refused
        assert proxy.hits == [] and len(site.hits) == 1


async def test_the_message_is_the_same_for_a_closed_port_and_open_ones(caplog: pytest.LogCaptureFixture) -> None:
    """A closed port, a port with something other than HTTP behind it, a port that accepts and says nothing, and
    one refused before connecting all read the same to whoever asked; the log says which."""
    closed = closed_port()
    with open_port(b"SSH-2.0-OpenSSH_9.2\r\n") as ssh, open_port(None) as silent:
        async with _client(["127.0.0.1"], timeout_s=0.5) as client:
            with caplog.at_level(logging.WARNING, logger="core.outbound.client"):
                failures = [
                    await _failure(client, f"http://127.0.0.1:{port}/", method)
                    for port in (closed, ssh, silent)
                    for method in ("GET", "POST")
                ]
        async with _client([]) as client:
            failures.append(await _failure(client, f"http://127.0.0.1:{ssh}/"))
    assert {str(f) for f in failures} == {UNREACHABLE}
    assert len({f.detail for f in failures}) > 1  # the operator's log tells them apart
    assert f"127.0.0.1:{closed}/: cannot connect" in caplog.text and "timed out" in caplog.text


async def test_an_answer_over_the_limit_is_not_read_whole() -> None:
    with web_server() as (site, base):
        site.routes["/big"] = (200, {}, b"x" * 5000)
        async with _client(["127.0.0.1"]) as client:
            failure = await _failure_big(client, base + "/big")
        assert "over 1000 bytes" in failure.detail and str(failure) == UNREACHABLE


async def _failure_big(client: OutboundClient, url: str) -> Unreachable:
    with pytest.raises(Unreachable) as caught:
        await client.request("GET", url, max_bytes=1000)
    return caught.value
