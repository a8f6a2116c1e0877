"""The SIP world of these tests: kamailio as the carrier's trunk, the appliance's SIP service running in the test's
event loop on the session's loaded models, two businesses with numbers on the trunk, and a "human" extension.

Only one pjsua2 library can live in a process, so one service serves the whole module; it has two trunks, one
with the right password and one with a wrong one.
"""

from __future__ import annotations

import asyncio
import random
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from appliance.runtime import Runtime
from core.tenants.document import parse_tenant
from sip.service import SipService
from sip.settings import SipSettings, TrunkSettings
from testkit.peers.kamailio import Kamailio
from testkit.ports import free_port, free_port_pair
from tests.sip.tenants import BERLIN_DID, HUMAN_NUMBER, TENANTS, TORONTO_DID, UNOWNED_DID

TRUNK_USER, TRUNK_PASSWORD = "box-17", "correct horse"
SPARE_USER = "box-18"
# Calls come through kamailio (127.0.0.1); a caller on STRANGER dials the box directly and is refused, one on
# TRUSTED_PBX (in sip.trusted_sources) dials it directly and is admitted.
STRANGER, TRUSTED_PBX = "127.0.0.2", "127.0.0.3"


class Trunk:
    """The kamailio fixture with what tests need to know about it."""

    def __init__(self, kamailio: Kamailio, human_port: int) -> None:
        self.kamailio = kamailio
        self.human_port = human_port

    @property
    def address(self) -> str:
        return self.kamailio.address

    def uri(self, number: str) -> str:
        return f"sip:{number}@{self.address}"


@pytest.fixture(scope="module")
def trunk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trunk]:
    human_port = free_port_pair()
    kamailio = Kamailio(
        tmp_path_factory.mktemp("kamailio"),
        port=free_port(both=True),
        users={TRUNK_USER: TRUNK_PASSWORD, SPARE_USER: "the spare's real password"},
        ruri_dids={TORONTO_DID: TRUNK_USER, UNOWNED_DID: TRUNK_USER},
        to_dids={BERLIN_DID: TRUNK_USER},
        humans={HUMAN_NUMBER: f"sip:frontdesk@127.0.0.1:{human_port}"},
    )
    kamailio.start()
    yield Trunk(kamailio, human_port)
    kamailio.stop()


@pytest.fixture(scope="module")
def tenants(loaded: Runtime) -> list[str]:
    for text in TENANTS:
        loaded.tenants.save(parse_tenant(tomllib.loads(text)), replace=True, actor="test")
    return [parse_tenant(tomllib.loads(t)).id for t in TENANTS]


def sip_settings(trunk: Trunk, **overrides: object) -> SipSettings:
    base = random.randrange(30000, 50000, 2)
    settings = SipSettings(
        bind="127.0.0.1",
        port=free_port(both=True),
        rtp_port=base,
        rtp_port_count=400,
        max_calls=2,
        retry_min_s=0.5,
        retry_max_s=4.0,
        trunks=[
            TrunkSettings(
                name="main", registrar=trunk.address, username=TRUNK_USER, password=TRUNK_PASSWORD, expires_s=10
            ),
            TrunkSettings(name="spare", registrar=trunk.address, username=SPARE_USER, password="wrong", expires_s=10),
        ],
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


@pytest.fixture(scope="module")
async def phone(
    loaded: Runtime,
    tenants: list[str],
    trunk: Trunk,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> AsyncIterator[SipService]:
    for tenant in tenants:
        await loaded.warm_tenant(tenant)
    # The tests' callers share a few numbers and leave calls silent for long: those limits are off here, and
    # tested (with a module's SIP_OVERRIDES) in test_flood.py.
    overrides = {"calls_per_caller_per_hour": 0, "media_timeout_s": 0.0, **getattr(request.module, "SIP_OVERRIDES", {})}
    settings = sip_settings(trunk, trusted_sources=[f"{TRUSTED_PBX}/32"], **overrides)
    service = SipService(loaded, settings, rate=8000, recordings=tmp_path_factory.mktemp("recordings"))
    await service.start()
    loaded.telephony = service
    await until(lambda: service.status().trunks[0].state == "registered", 15, "the main trunk registers")
    yield service
    loaded.telephony = None
    await service.stop()


async def until(check: object, within_s: float, what: str) -> None:
    """Wait (without blocking the loop) until ``check()`` is true."""
    assert callable(check)
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within_s} s waiting until {what}")
        await asyncio.sleep(0.1)


@pytest.fixture
def peers_dir(tmp_path: Path) -> Path:
    return tmp_path
