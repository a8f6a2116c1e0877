"""Roles and businesses: what each role may do, and that no one reaches another business's data by changing a
URL or calling the API; every refusal is a 403 that is logged and audited."""

from __future__ import annotations

import logging

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.web.conftest import sign_in
from tests.web.harness import Served, shot
from tests.web.seed import Seeded

DENTAL, BAKERY = "harbour-dental", "kowloon-bakery"


def _denials(served: Served, tenant: str | None) -> int:
    sql = "SELECT count(*) FROM audit_log WHERE action = 'access.denied' AND tenant_id " + (
        "= ?" if tenant else "IS NULL"
    )
    return int(served.runtime.store.scalar(sql, [tenant] if tenant else []))


async def test_agent_cannot_open_settings_or_another_business(
    browser: Browser, seeded: tuple[Served, Seeded], caplog: pytest.LogCaptureFixture
) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.agent)
    # The agent sees the calls, without the sections their role does not allow.
    await page.goto(f"{served.url}/t/{DENTAL}/calls")
    await expect(page.locator("table.calls tbody tr")).to_have_count(2)
    nav = page.locator("nav.side")
    for hidden in ("Settings", "Assistant", "Audit log", "Knowledge", "Test call"):
        await expect(nav.get_by_role("link", name=hidden)).to_have_count(0)

    before = _denials(served, DENTAL), _denials(served, BAKERY)
    caplog.set_level(logging.WARNING, logger="appliance.web.access")
    reply = await page.goto(f"{served.url}/t/{DENTAL}/settings")
    assert reply is not None and reply.status == 403
    await expect(page.locator("h1")).to_have_text("Not allowed")
    await shot(page, "agent-settings-403")

    other_call = data.calls[BAKERY][0]
    reply = await page.goto(f"{served.url}/t/{BAKERY}/calls/{other_call}")
    assert reply is not None and reply.status == 403
    # The other business's call id under the agent's own business is simply not there.
    reply = await page.goto(f"{served.url}/t/{DENTAL}/calls/{other_call}")
    assert reply is not None and reply.status == 404

    # The same through the API, with the browser's session.
    api = page.request
    assert (await api.get(f"{served.url}/api/v1/tenants/{BAKERY}/calls")).status == 403
    assert (await api.get(f"{served.url}/api/v1/tenants/{BAKERY}/calls/{other_call}")).status == 403
    assert (await api.get(f"{served.url}/api/v1/tenants/{BAKERY}/calls/{other_call}/recording")).status == 403
    assert (await api.get(f"{served.url}/api/v1/tenants/{DENTAL}/calls/{other_call}")).status == 404
    assert (await api.get(f"{served.url}/api/v1/tenants/{DENTAL}/users")).status == 403
    assert (await api.get(f"{served.url}/api/v1/tenants/{DENTAL}/retention")).status == 403
    visible = await (await api.get(f"{served.url}/api/v1/tenants")).json()
    assert [t["id"] for t in visible] == [DENTAL]

    after = _denials(served, DENTAL), _denials(served, BAKERY)
    assert after[0] - before[0] == 3  # settings page, users and retention
    assert after[1] - before[1] == 4  # the bakery's call page, list, call and recording
    denied = [r.getMessage() for r in caplog.records if r.name == "appliance.web.access"]
    assert any(f"user:{data.agent}" in m and f"/t/{BAKERY}/calls/{other_call}" in m for m in denied)
    await page.context.close()


async def test_agent_is_read_only(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.agent)
    await page.goto(f"{served.url}/t/{DENTAL}/bookings")
    await expect(page.locator("table.list tbody tr")).to_have_count(1)
    await expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    await page.goto(f"{served.url}/t/{DENTAL}/leads")
    await expect(page.get_by_role("button", name="Mark contacted")).to_have_count(0)
    store = served.runtime.store
    before = store.scalar("SELECT status FROM bookings WHERE id = ?", [data.booking])
    csrf = await page.locator("body").get_attribute("data-csrf") or ""
    headers = {"X-CSRF-Token": csrf}
    assert (
        await page.request.post(f"{served.url}/api/v1/tenants/{DENTAL}/bookings/{data.booking}/cancel", headers=headers)
    ).status == 403
    assert (
        await page.request.post(f"{served.url}/api/v1/tenants/{DENTAL}/leads/{data.lead}/contacted", headers=headers)
    ).status == 403
    assert store.scalar("SELECT status FROM bookings WHERE id = ?", [data.booking]) == before
    await page.context.close()


async def test_api_tokens_are_per_business_and_role(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    owner = await sign_in(browser, served, data.owner)
    await owner.goto(f"{served.url}/t/{DENTAL}/settings#tokens")
    await owner.fill("#tokens input[name=name]", "reporting script")
    await owner.select_option("#tokens select[name=role]", "agent")
    await owner.click("#tokens button[type=submit]")
    secret = owner.locator("#tokens [data-result] code")
    await expect(secret).to_contain_text("apl_")
    token = await secret.inner_text()
    await owner.context.close()
    assert token not in str(served.runtime.store.rows("SELECT * FROM api_tokens"))

    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=served.url, headers=bearer) as client:
        calls = (await client.get(f"/api/v1/tenants/{DENTAL}/calls")).json()["calls"]
        assert [c["id"] for c in calls] == data.calls[DENTAL]
        assert (await client.get(f"/api/v1/tenants/{BAKERY}/calls")).status_code == 403
        assert (await client.get(f"/api/v1/tenants/{DENTAL}/audit")).status_code == 403  # an agent token
        # A bearer token needs no CSRF header, and an agent's may not write.
        assert (await client.post(f"/api/v1/tenants/{DENTAL}/leads/{data.lead}/contacted")).status_code == 403
    async with httpx.AsyncClient(base_url=served.url, headers={"Authorization": "Bearer apl_nope"}) as client:
        assert (await client.get(f"/api/v1/tenants/{DENTAL}/calls")).status_code == 401


async def test_cookie_requests_need_the_csrf_token(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.supervisor)
    url = f"{served.url}/api/v1/tenants/{DENTAL}/bookings/{data.booking}/cancel"
    before = served.runtime.store.scalar("SELECT status FROM bookings WHERE id = ?", [data.booking])
    assert (await page.request.post(url)).status == 403
    assert (await page.request.post(url, headers={"X-CSRF-Token": "forged"})).status == 403
    assert served.runtime.store.scalar("SELECT status FROM bookings WHERE id = ?", [data.booking]) == before
    await page.context.close()


async def test_the_cli_token_still_works_everywhere(seeded: tuple[Served, Seeded]) -> None:
    served, _ = seeded
    async with httpx.AsyncClient(
        base_url=served.url, headers={"Authorization": f"Bearer {served.cli_token}"}
    ) as client:
        assert {t["id"] for t in (await client.get("/api/v1/tenants")).json()} == {DENTAL, BAKERY}
        assert (await client.get(f"/api/v1/tenants/{BAKERY}/calls")).status_code == 200
