"""Browser test calls and API simulations have a cap of their own (``web.max_test_calls``, issue 18), besides
``sip.max_calls``: over it, 429 with a plain message and a log line, before any model is loaded.

The API test holds the one slot through the box's own limiter rather than running a real call (which needs the
models): what it shows is that both endpoints take their slot from that limiter before doing anything else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from litestar import Litestar
from litestar.exceptions import TooManyRequestsException
from litestar.testing import AsyncTestClient

from appliance.app import create_app
from appliance.runtime import Runtime
from core.tenants.document import parse_tenant
from tests.conftest import settings_for
from web.context import WebContext
from web.settings import WebSettings
from web.trial_calls import TrialCalls

SHOP = "corner-shop"
TOKEN = "test-cli-token"
Client = AsyncTestClient[Litestar]


def test_the_limiter_counts_slots_until_given_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="appliance.web.trial_calls")
    calls = TrialCalls(2)
    first = calls.take("browser test call", SHOP, "user:a")
    with calls.take("simulation", SHOP, "cli"):
        with pytest.raises(TooManyRequestsException) as refused:
            calls.take("browser test call", SHOP, "user:b")
        assert refused.value.status_code == 429
        assert refused.value.detail == "2 test calls are already in progress on this box; end one first"
    assert calls.in_progress == 1
    first.release()
    first.release()  # once only
    assert calls.in_progress == 0
    with calls.take("simulation", SHOP, "cli"), calls.take("simulation", SHOP, "cli"):
        assert calls.in_progress == 2
    [line] = [r.getMessage() for r in caplog.records if r.name == "appliance.web.trial_calls"]
    assert "browser test call for corner-shop by user:b" in line and "web.max_test_calls = 2" in line


def test_the_cap_is_at_least_one() -> None:
    assert msgspec.convert({}, WebSettings).max_test_calls == 2
    with pytest.raises(msgspec.ValidationError, match="max_test_calls must be at least 1"):
        msgspec.convert({"max_test_calls": 0}, WebSettings)


@pytest.fixture(scope="module")
async def box(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> AsyncIterator[Client]:
    settings = settings_for(tmp_path_factory.mktemp("trial-calls"), models_dir)
    settings = msgspec.structs.replace(settings, web=msgspec.structs.replace(settings.web, max_test_calls=1))
    runtime = Runtime.open(settings)
    runtime.tenants.save(
        parse_tenant({"id": SHOP, "name": "Corner Shop", "timezone": "Europe/London"}), replace=False, actor="test"
    )
    app = create_app(runtime, TOKEN, load_models=False)
    async with AsyncTestClient(app, base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield client
    runtime.close()


_OFFER = {"sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "type": "offer"}
_SIMULATION = {"tenant": SHOP, "turns": [{"text": "Are you open on Saturday?"}]}


async def test_over_the_cap_a_simulation_and_a_browser_call_are_refused(
    box: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="appliance.web.trial_calls")
    web: WebContext = box.app.state.web
    loads: list[object] = []

    async def no_models(*args: object, **kwargs: object) -> None:
        loads.append(args)

    with web.trial_calls.take("browser test call", SHOP, "user:someone"):
        simulate = await box.post("/api/v1/calls/simulate", json=_SIMULATION)
        assert simulate.status_code == 429, simulate.text
        assert simulate.json()["detail"] == "1 test call is already in progress on this box; end one first"
        offer = await box.post(f"/api/v1/tenants/{SHOP}/webrtc/offer", json=_OFFER)
        assert offer.status_code == 429, offer.text
        assert web.trial_calls.in_progress == 1
    logged = [r.getMessage() for r in caplog.records if r.name == "appliance.web.trial_calls"]
    assert len(logged) == 2 and "simulation for corner-shop by cli" in logged[0]
    assert "web.max_test_calls = 1" in logged[1]

    # A slot comes back when the request fails: a simulation with nothing to say, an offer aiortc cannot use.
    assert (await box.post("/api/v1/calls/simulate", json={"tenant": SHOP, "turns": [{}]})).status_code == 400
    assert web.trial_calls.in_progress == 0
    runtime = web.runtime
    original = runtime.models.load
    runtime.models.load = no_models  # type: ignore[method-assign]
    try:
        refused = await box.post(f"/api/v1/tenants/{SHOP}/webrtc/offer", json=_OFFER)
    finally:
        runtime.models.load = original  # type: ignore[method-assign]
    assert refused.status_code == 400, refused.text
    assert loads and web.trial_calls.in_progress == 0
