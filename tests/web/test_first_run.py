"""First run in a real browser: the wizard from an empty box to a working business, signing in and out, a wrong
password, and the login throttle."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.web.conftest import fresh_runtime
from tests.web.harness import Served, serve, shot
from web.store.accounts import Accounts

PASSWORD = "a long enough secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Served]:
    runtime = fresh_runtime(tmp_path_factory.mktemp("first-run"), models_dir)
    with serve(runtime) as served:
        yield served
    runtime.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(timezone_id="Europe/Dublin")
    yield await context.new_page()
    await context.close()


async def test_wizard_creates_a_working_business(server: Served, page: Page) -> None:
    await page.goto(server.url)
    await expect(page).to_have_url(f"{server.url}/setup")
    await shot(page, "setup-wizard-step1")
    await page.fill("input[name=name]", "Róisín Byrne")
    await page.fill("input[name=email]", "Roisin@Example.ie")
    await page.fill("input[name=password]", PASSWORD)
    await page.fill("input[name=password2]", PASSWORD)
    await page.fill("input[name=user_phone]", "+353 87 555 0199")
    await page.click("button[data-next]")
    await page.fill("input[name=business_name]", "Liffey Bike Repairs")
    # The browser's own time zone is offered as the default.
    await expect(page.locator("input[name=timezone]")).to_have_value("Europe/Dublin")
    await page.fill("textarea[name=description]", "Bicycle servicing and repairs by the quays.")
    await page.click("button[data-next]")
    await page.fill("input[name='hours.sat']", "10:00-14:00")
    await page.fill("textarea[name=services]", "Full service | 90 | €85\nPuncture repair | 20 | €15")
    await page.click("button[data-next]")
    await page.fill("input[name=personality]", "cheerful and brief")
    await shot(page, "setup-wizard-step4")
    await page.click("button[data-finish]")

    await expect(page).to_have_url(f"{server.url}/t/liffey-bike-repairs/welcome")
    await expect(page.locator("h1")).to_contain_text("Liffey Bike Repairs is ready")
    await expect(page.get_by_role("link", name="Add a website or files")).to_be_visible()
    await expect(page.get_by_role("link", name="Set up the SIP trunk")).to_be_visible()
    await shot(page, "setup-welcome")

    tenant = server.runtime.tenants.get("liffey-bike-repairs")
    assert tenant.timezone == "Europe/Dublin"
    assert [s.name for s in tenant.services] == ["Full service", "Puncture repair"]
    assert tenant.services[0].duration_minutes == 90
    assert tenant.hours["sat"] == "10:00-14:00" and tenant.hours["sun"] == "closed"
    assert tenant.assistant.personality == "cheerful and brief"
    assert "AI assistant" in tenant.greeting()
    roles = server.runtime.store.rows(
        "SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ?",
        ["liffey-bike-repairs"],
    )
    assert roles == [("roisin@example.ie", "owner")]
    # The password is stored as an argon2 hash, never as typed.
    stored = server.runtime.store.scalar("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored

    # The business works: its dashboard and assistant pages open with what the wizard set.
    await page.goto(f"{server.url}/t/liffey-bike-repairs/assistant")
    await expect(page.locator("input[name=personality]")).to_have_value("cheerful and brief")
    # The wizard runs once: afterwards it sends people to sign in.
    await page.context.clear_cookies()
    await page.goto(f"{server.url}/setup")
    await expect(page).to_have_url(f"{server.url}/login")


async def test_sign_in_and_out(server: Served, page: Page) -> None:
    await page.goto(f"{server.url}/t/liffey-bike-repairs/calls")
    await expect(page).to_have_url(f"{server.url}/login?next=/t/liffey-bike-repairs/calls")
    await page.fill("input[name=email]", "roisin@example.ie")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{server.url}/t/liffey-bike-repairs/calls")
    cookie = next(c for c in await page.context.cookies() if c["name"].endswith("appliance_session"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{server.url}/login")
    # The session is gone on the server, not only in the browser.
    await page.context.add_cookies([cookie])  # type: ignore[list-item]
    await page.goto(f"{server.url}/t/liffey-bike-repairs/calls")
    await expect(page).to_have_url(f"{server.url}/login?next=/t/liffey-bike-repairs/calls")


async def test_wrong_password_is_refused(server: Served, page: Page) -> None:
    await page.goto(f"{server.url}/login")
    await page.fill("input[name=email]", "roisin@example.ie")
    await page.fill("input[name=password]", "not the password")
    await page.click("button[type=submit]")
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await expect(page).to_have_url(f"{server.url}/login")
    await shot(page, "login-wrong-password")
    assert not any(c["name"].endswith("appliance_session") for c in await page.context.cookies())


async def test_login_is_rate_limited(server: Served, page: Page) -> None:
    # An account of its own, so failures counted by other tests do not change the count here.
    Accounts(server.runtime.store).create(email="mechanic@example.ie", name="Mechanic", password=PASSWORD)
    attempts = server.runtime.settings.web.login_attempts
    await page.goto(f"{server.url}/login")
    for _ in range(attempts):
        await page.fill("input[name=email]", "MECHANIC@example.ie ")
        await page.fill("input[name=password]", "guess guess guess")
        await page.click("button[type=submit]")
        await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    # Now even the right password is refused until the window has passed.
    await page.fill("input[name=email]", "mechanic@example.ie")
    await page.fill("input[name=password]", PASSWORD)
    async with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as reply:
        await page.click("button[type=submit]")
    assert (await reply.value).status == 429
    await expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    await shot(page, "login-rate-limited")
    assert not any(c["name"].endswith("appliance_session") for c in await page.context.cookies())


async def test_a_form_without_the_csrf_token_is_refused(server: Served, page: Page) -> None:
    await page.goto(f"{server.url}/login")
    reply = await page.request.post(f"{server.url}/login", form={"email": "roisin@example.ie", "password": PASSWORD})
    assert reply.status == 403
