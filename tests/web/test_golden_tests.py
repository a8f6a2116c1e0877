"""Golden conversations kept from the web: a call kept as a test, its expectations edited, the set run through the
real call loop, a regression shown against the run before; bad input refused; a caller's erasure takes them."""

from __future__ import annotations

import httpx

from appliance.runtime import Runtime
from core.calls.simulate import CallerTurn, simulate_call
from tests.web.harness import serve

LEAD = [
    "How much would it cost to replace my old hot water system? I'm just getting quotes at the moment.",
    "Kate Morrison",
    "zero four one three, two two two, three three three",
    "yes please",
]


async def test_a_call_kept_as_a_test_runs_again_and_shows_a_regression(loaded: Runtime) -> None:
    session = loaded.new_call("example", channel="simulated", caller="+61400777888", callee=None, rate=8000)
    call = (await simulate_call(session, [CallerTurn(text=line) for line in LEAD], realtime=False)).call
    with serve(loaded) as served:
        bearer = {"Authorization": f"Bearer {served.cli_token}"}
        base = "/api/v1/tenants/example/tests"
        async with httpx.AsyncClient(base_url=served.url, headers=bearer, timeout=600) as client:
            kept = (await client.post(f"{base}/from-call/{call.id}")).json()
            spec = kept["spec"]
            assert spec["turns"] == LEAD and spec["caller"] == "+61400777888"
            assert spec["outcomes"] == ["lead_captured"] and [t["name"] for t in spec["tools"]] == ["capture_lead"]
            expect = f"{base}/{kept['id']}/expectations"
            edited = await client.put(expect, json={"name": "quote for later", "outcomes": ["lead_captured"],
                                                    "says": ["passed that on"], "never_says": ["solar"]})  # fmt: skip
            assert edited.status_code == 200 and edited.json()["spec"]["turns"] == LEAD  # turns and tools stay
            first = (await client.post(f"{base}/run")).json()
            assert [r["passed"] for r in first["results"]] == [True], first
            # A change that breaks it (here, of the expectation): the run says it passed before.
            await client.put(expect, json={"name": "quote for later", "says": ["we install solar panels"]})
            second = (await client.post(f"{base}/run")).json()
            assert [r["passed"] for r in second["results"]] == [False]
            assert second["compared"]["regressed"] == ["quote for later"]
            listed = (await client.get(base)).json()
            assert listed[0]["last_run"]["passed"] is False and listed[0]["previous_run"]["passed"] is True
            # Bad input: one clear line each, nothing changed.
            nameless = await client.put(expect, json={"name": " "})
            unknown = await client.post(f"{base}/from-call/call_nope")
            other = await client.put(f"{base}/{kept['id']}", json={**spec, "tenant": "lakeside-dental"})
            assert nameless.status_code == 400 and "name" in nameless.json()["detail"]
            assert unknown.status_code == 404 and other.status_code == 400
            # The caller asks to be forgotten: the test made from their call goes too.
            erased = await client.delete("/api/v1/tenants/example/callers/+61400777888")
            assert erased.status_code == 200 and erased.json()["tests"] == 1, erased.text
            assert (await client.get(base)).json() == []
