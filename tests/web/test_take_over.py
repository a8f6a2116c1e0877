"""Taking a live call over goes only to the business's own numbers: its transfer numbers, the take-over numbers its
owner lists on the Assistant page, or its staff's own phones. Any other number is refused with a 400 that says
what to do, a log line and an audit row, and the call stays with the assistant."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from appliance.runtime import Runtime
from core.calls.session import CallSession
from core.events import TransferRequested
from tests.web.conftest import fresh_runtime
from tests.web.harness import Served, serve
from tests.web.seed import seed
from web.auth.policy import Role
from web.store.tokens import ApiTokens

DENTAL = "harbour-dental"
PREMIUM = "+19005550100"  # a number nobody at the practice set up
DESK = "+1 902 555 0188"  # the practice's second desk, once the owner lists it
STAFF_PHONE = "+19025550177"  # every seeded user's own phone
TRANSFER_NUMBER = "+19025550101"


@pytest.fixture(scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, loaded: Runtime) -> AsyncIterator[Served]:
    runtime = fresh_runtime(tmp_path_factory.mktemp("take-over"), models_dir, models=loaded.models)
    seed(runtime)
    with serve(runtime) as served:
        yield served
    runtime.store.close()  # not runtime.close(): the models are the session's


def _bearer(served: Served, role: Role) -> dict[str, str]:
    tokens = ApiTokens(served.runtime.store, served.runtime.secret_box)
    token, _ = tokens.create(
        DENTAL, name=f"{role} for the take-over test", role=role, created_by="cli", creator_user=None
    )
    return {"Authorization": f"Bearer {token}"}


def _call(runtime: Runtime) -> CallSession:
    """A call in progress (listed as live), as the live view sees it."""
    return runtime.new_call(DENTAL, channel="simulated", caller="+19025550123", callee=None, rate=8000)


def _audit(served: Served, call_id: str) -> list[tuple[str, str, dict[str, str]]]:
    rows = served.runtime.store.rows(
        "SELECT action, actor, detail FROM audit_log WHERE target = ? ORDER BY occurred_at", [call_id]
    )
    return [(action, actor, json.loads(detail)) for action, actor, detail in rows]


async def test_a_take_over_to_an_unlisted_number_is_refused_until_the_owner_lists_it(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    session = _call(served.runtime)
    url = f"/api/v1/tenants/{DENTAL}/live/{session.call.id}/take-over"
    async with httpx.AsyncClient(base_url=served.url, headers=_bearer(served, "supervisor")) as supervisor:
        with caplog.at_level(logging.WARNING):
            refused = await supervisor.post(url, json={"target": PREMIUM})
        assert refused.status_code == 400, refused.text
        detail = refused.json()["detail"]
        assert detail.startswith(f"'{PREMIUM}' is not one of this business's transfer numbers")
        assert "take-over numbers" in detail and "Assistant page" in detail
        assert session.leaving is None  # nothing was asked of the line
        assert session.call.id in {s.call.id for s in served.runtime.live.sessions()}
        [(action, actor, audited)] = _audit(served, session.call.id)
        assert action == "call.transfer_refused" and actor.startswith("token:")
        assert audited == {"target": PREMIUM, "by": "take-over"}
        lines = [f"{r.getMessage()} {r.msg}" for r in caplog.records]
        assert any("take-over refused" in line and PREMIUM in line for line in lines), lines

        # The owner lists the second desk on the Assistant page; a take-over to it now goes through.
        async with httpx.AsyncClient(base_url=served.url, headers=_bearer(served, "owner")) as owner:
            assistant = f"/api/v1/tenants/{DENTAL}/assistant"
            settings = (await owner.get(assistant)).json()
            assert settings["take_over_numbers"] == []
            saved = await owner.put(assistant, json={**settings, "take_over_numbers": [DESK, " ", DESK]})
            assert saved.status_code == 200, saved.text
            assert saved.json()["take_over_numbers"] == [DESK]
            assert (await owner.get(assistant)).json()["take_over_numbers"] == [DESK]
        taken = await supervisor.post(url, json={"target": "+19025550188"})
        assert taken.status_code == 200, taken.text
        assert isinstance(session.leaving, TransferRequested) and session.leaving.target == "+19025550188"
        assert [a for a, _, _ in _audit(served, session.call.id)] == ["call.transfer_refused", "call.take_over"]


async def test_the_transfer_number_and_staff_phones_need_no_listing(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, headers=_bearer(served, "supervisor")) as supervisor:
        for body, target in (({}, TRANSFER_NUMBER), ({"target": STAFF_PHONE}, STAFF_PHONE)):
            session = _call(served.runtime)
            taken = await supervisor.post(f"/api/v1/tenants/{DENTAL}/live/{session.call.id}/take-over", json=body)
            assert taken.status_code == 200, taken.text
            assert isinstance(session.leaving, TransferRequested) and session.leaving.target == target


async def test_take_over_numbers_that_are_not_numbers_are_not_saved(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, headers=_bearer(served, "owner")) as owner:
        assistant = f"/api/v1/tenants/{DENTAL}/assistant"
        before = (await owner.get(assistant)).json()
        bad = await owner.put(assistant, json={**before, "take_over_numbers": ["ask for Bob"]})
        assert bad.status_code == 400
        problem = "transfer.take_over_numbers: 'ask for Bob' is neither a phone number nor a sip: URI"
        assert problem in bad.json()["detail"]
        assert (await owner.get(assistant)).json() == before
