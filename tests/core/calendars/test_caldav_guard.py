"""The business's CalDAV calendar is reached through the guarded client: the caldav library's requests never
open a socket of their own. Loopback, LAN and metadata addresses are refused unless the tenant file allow-lists
them (metadata never), redirects are checked, and a failure reads the same whatever its cause. (Bookings against a
real Radicale server, allow-listed, are in test_caldav.py.)"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import niquests
import pytest

from core.calendars.caldav_calendar import CaldavCalendar, CalendarUnavailable
from core.calendars.caldav_http import GuardedSession, linked
from core.calendars.factory import calendar_for
from core.outbound.client import OutboundClient
from core.store.database import Store
from core.tenants.document import Caldav, parse_tenant
from tests.servers.ports import closed_port, open_port, web_server

ZONE = ZoneInfo("Europe/London")
DAY = (datetime(2026, 7, 8, tzinfo=ZONE), datetime(2026, 7, 9, tzinfo=ZONE))
NEUTRAL = "the calendar is not answering"


async def _failure(url: str, allow_hosts: list[str]) -> CalendarUnavailable:
    calendar = CaldavCalendar(
        Caldav(url=url, username="studio", password="pw"), Store.memory(), "salon", ZONE, allow_hosts
    )
    with pytest.raises(CalendarUnavailable) as caught:
        await calendar.busy(*DAY)
    return caught.value


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://localhost:{port}/",
        "http://10.1.1.1/dav/",
        "http://192.168.1.20:5232/",
        "http://169.254.169.254/latest/",
        "http://[fd00:ec2::254]/",
    ],
)
async def test_loopback_lan_and_metadata_are_refused_without_allow_hosts(url: str) -> None:
    with web_server() as (site, base):
        failure = await _failure(url.format(port=base.rsplit(":", 1)[1]), allow_hosts=[])
    assert str(failure) == NEUTRAL and site.hits == []


async def test_the_tenant_files_allow_hosts_reaches_the_calendar_and_nothing_else() -> None:
    with web_server() as (site, base):
        tenant = parse_tenant({
            "id": "salon", "name": "Salon", "timezone": "Europe/London", "allow_hosts": ["127.0.0.1"],
            "booking": {"calendar": "caldav", "caldav": {"url": base + "/dav/", "username": "studio"}},
        })  # fmt: skip
        calendar = calendar_for(tenant, Store.memory())
        with pytest.raises(CalendarUnavailable, match=NEUTRAL):
            await calendar.busy(*DAY)  # reached: the fake answers 404 to everything, which is no calendar
        assert site.hits and site.hits[0]["method"] == "PROPFIND" and site.hits[0]["path"] == "/dav/"
        assert str(await _failure("http://169.254.169.254/", ["127.0.0.1", "169.254.0.0/16"])) == NEUTRAL


@pytest.mark.parametrize("status", [301, 307, 308])
async def test_a_redirect_to_a_private_address_is_refused(status: int) -> None:
    with web_server() as (site, base):
        site.routes["/dav/"] = (status, {"Location": "http://10.0.0.9/dav/"}, b"")
        failure = await _failure(base + "/dav/", allow_hosts=["127.0.0.1"])
    assert str(failure) == NEUTRAL and [hit["path"] for hit in site.hits] == ["/dav/"]


async def test_no_proxy_is_taken_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with web_server() as (proxy, proxy_url):
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        await _failure("http://10.0.0.9/dav/", allow_hosts=["127.0.0.1"])
    assert proxy.hits == []


async def test_the_error_is_the_same_for_a_closed_port_and_open_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.calendars.caldav_calendar.TIMEOUT_S", 0.5)
    closed = closed_port()
    with open_port(b"SSH-2.0-OpenSSH_9.2\r\n") as ssh, open_port(None) as silent:
        failures = [await _failure(f"http://127.0.0.1:{port}/", ["127.0.0.1"]) for port in (closed, ssh, silent)]
        failures.append(await _failure(f"http://127.0.0.1:{ssh}/", []))
    assert [str(f) for f in failures] == [NEUTRAL] * 4


async def test_digest_authentication_answers_its_challenge_through_the_guarded_client() -> None:
    """Servers that ask for digest (Baïkal, older SabreDAV) get it: the library's auth answers the 401 by sending
    the request again, through the same session and so through the guard."""
    with web_server() as (site, base):
        challenge = {"WWW-Authenticate": 'Digest realm="dav", nonce="abc123", qop="auth", algorithm=MD5'}
        site.routes["/dav/"] = (401, challenge, b"")
        session = GuardedSession()

        def fetch() -> niquests.Response:
            return session.request("PROPFIND", base + "/dav/", auth=niquests.auth.HTTPDigestAuth("studio", "pw"))

        async with OutboundClient.allowing(["127.0.0.1"], "allow_hosts") as client:
            with linked(client):
                answer = await asyncio.to_thread(fetch)
    assert [hit["headers"].get("Authorization", "")[:7] for hit in site.hits] == ["", "Digest "]
    assert answer.status_code == 401 and len(answer.history) == 1  # the fake never accepts; the second try was made
