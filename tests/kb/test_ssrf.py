"""The knowledge base's fetches through the guarded client (``core.outbound``; the address policy itself is tested
in tests/core/outbound): public addresses and allow-listed ones only, on every hop, connected to the address that
was checked. Only 127.0.0.1 is ever connected to: every other address is refused before connecting."""

from __future__ import annotations

import ipaddress

import pytest

from core.outbound.guard import AddressPolicy, Guard, IpAddress, SystemResolver
from kb.errors import RefusedTarget
from kb.fetch import Fetcher, FetchFailed, FetchLimits
from tests.kb.site import Route, Site, serve
from tests.servers.ports import closed_port, open_port

LIMITS = FetchLimits(max_bytes=1 << 20, max_decompressed=4 << 20, timeout_s=5)


class ScriptedResolver:
    """DNS answers for names that cannot exist on a machine without a network: each name maps to the answers
    it gives, one per lookup, the last one repeated."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        self.lookups.append(host)
        answers = self.answers[host]
        answer = answers[min(len([h for h in self.lookups if h == host]), len(answers)) - 1]
        return [ipaddress.ip_address(answer)]


def _fetcher(allow: list[str], resolver: object = None) -> Fetcher:
    guard = Guard(AddressPolicy(allow, "kb.allow_hosts"), resolver or SystemResolver())  # type: ignore[arg-type]
    return Fetcher(guard, LIMITS, "test")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://192.168.1.1:8080/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[::1]/",
        "http://0.0.0.0/",
    ],
)
async def test_private_link_local_and_metadata_targets_are_refused(url: str) -> None:
    async with _fetcher(["127.0.0.1"]) as fetcher:
        with pytest.raises(RefusedTarget, match=r"refused"):
            await fetcher.get(url)


async def test_loopback_is_refused_unless_allow_listed() -> None:
    site = Site()
    site.page("/", "<p>hello</p>")
    with serve(site):
        async with _fetcher([]) as fetcher:
            with pytest.raises(RefusedTarget, match=r"127.0.0.1 is a loopback address"):
                await fetcher.get(site.url + "/")
        assert site.hits == []
        async with _fetcher(["127.0.0.1"]) as fetcher:
            assert (await fetcher.get(site.url + "/")).body == b"<p>hello</p>"


async def test_a_hostname_resolving_to_loopback_is_refused() -> None:
    # localhost goes through the system resolver (/etc/hosts), as any name would.
    site = Site()
    site.page("/", "<p>hello</p>")
    with serve(site):
        port = site.url.rsplit(":", 1)[1]
        async with _fetcher([]) as fetcher:
            with pytest.raises(RefusedTarget, match=r"'localhost' resolves to (127\.0\.0\.1|::1), which is a loopback"):
                await fetcher.get(f"http://localhost:{port}/")
        assert site.hits == []


@pytest.mark.parametrize(
    ("answer", "kind"), [("10.9.8.7", "private"), ("169.254.169.254", "metadata"), ("fe80::2", "link-local")]
)
async def test_a_hostname_resolving_to_a_forbidden_address_is_refused(answer: str, kind: str) -> None:
    resolver = ScriptedResolver({"shop.example": [answer]})
    async with _fetcher(["127.0.0.1"], resolver) as fetcher:
        with pytest.raises(RefusedTarget, match=f"'shop.example' resolves to .*{kind}"):
            await fetcher.get("http://shop.example/")


async def test_redirects_to_forbidden_targets_are_refused() -> None:
    site = Site()
    site.routes["/to-private"] = Route(status=302, headers={"Location": "http://10.0.0.5/"})
    site.routes["/to-metadata"] = Route(status=301, headers={"Location": "http://169.254.169.254/latest/"})
    site.routes["/to-name"] = Route(status=307, headers={"Location": "http://internal.example/"})
    site.routes["/to-file"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    site.routes["/ok"] = Route(status=302, headers={"Location": "/final"})
    site.page("/final", "<p>arrived</p>")
    resolver = ScriptedResolver({"internal.example": ["192.168.7.7"]})
    with serve(site):
        async with _fetcher(["127.0.0.1"], resolver) as fetcher:
            for path, reason in (
                ("/to-private", "10.0.0.5 is a private"),
                ("/to-metadata", "metadata"),
                ("/to-name", "'internal.example' resolves to 192.168.7.7, which is a private"),
                ("/to-file", "only http and https"),
            ):
                with pytest.raises(RefusedTarget, match=reason):
                    await fetcher.get(site.url + path)
            fetched = await fetcher.get(site.url + "/ok")
    assert fetched.url == site.url + "/final" and fetched.body == b"<p>arrived</p>"


async def test_the_connection_goes_to_the_checked_address_even_if_dns_changes() -> None:
    # DNS rebinding: the first answer passes the check, a later one would point inside. The fetch resolves once
    # per hop and connects to the address it checked; the second answer is never asked for.
    site = Site()
    site.page("/", "<p>checked</p>")
    with serve(site):
        port = site.url.rsplit(":", 1)[1]
        resolver = ScriptedResolver({"rebind.example": ["127.0.0.1", "10.0.0.1"]})
        async with _fetcher(["127.0.0.1"], resolver) as fetcher:
            fetched = await fetcher.get(f"http://rebind.example:{port}/")
            assert fetched.body == b"<p>checked</p>" and resolver.lookups == ["rebind.example"]
            with pytest.raises(RefusedTarget, match=r"resolves to 10.0.0.1, which is a private"):
                await fetcher.get(f"http://rebind.example:{port}/")
    assert site.hits == ["/"]


async def test_urls_with_credentials_and_other_schemes_are_refused() -> None:
    async with _fetcher(["127.0.0.1"]) as fetcher:
        for url, reason in (
            ("ftp://127.0.0.1/", "only http and https"),
            ("http://user:pw@127.0.0.1/", "user name or password"),
            ("http:///nohost", "no host"),
        ):
            with pytest.raises(RefusedTarget, match=reason):
                await fetcher.get(url)


async def test_a_closed_port_and_open_ones_fail_in_the_same_words() -> None:
    """What the person adding a source is told does not say whether a port is open: a closed one, one with a
    non-HTTP service behind it and a silent one read the same (the log says which)."""
    closed = closed_port()
    with open_port(b"SSH-2.0-OpenSSH_9.2\r\n") as ssh, open_port(None) as silent:
        guard = Guard(AddressPolicy(["127.0.0.1"], "kb.allow_hosts"))
        async with Fetcher(guard, FetchLimits(max_bytes=1 << 20, max_decompressed=4 << 20, timeout_s=0.5), "t") as f:
            messages = []
            for port in (closed, ssh, silent):
                url = f"http://127.0.0.1:{port}/"
                with pytest.raises(FetchFailed) as caught:
                    await f.get(url)
                messages.append(str(caught.value).replace(url, "URL"))
    assert messages == ["URL: the service could not be reached"] * 3
