"""First run in a real browser: the wizard from an empty box to a working business, signing in and out, a wrong
password, and the login throttle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.conftest import fresh_runtime
from web.store.accounts import Accounts
from tests.web.harness import Served, serve, shot

PASSWORD = "a long enough secret"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Served]:
    runtime = fresh_runtime(tmp_path_factory.mktemp("first-run"), models_dir)
    with serve(runtime) as served:
        yield served
    runtime.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(timezone_id="Europe/Dublin")
    yield context.new_page()
    context.close()


def test_wizard_creates_a_working_business(server: Served, page: Page) -> None:
    page.goto(server.url)
    expect(page).to_have_url(f"{server.url}/setup")
    shot(page, "setup-wizard-step1")
    page.fill("input[name=name]", "Róisín Byrne")
    page.fill("input[name=email]", "Roisin@Example.ie")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.fill("input[name=user_phone]", "+353 87 555 0199")
    page.click("button[data-next]")
    page.fill("input[name=business_name]", "Liffey Bike Repairs")
    # The browser's own time zone is offered as the default.
    expect(page.locator("input[name=timezone]")).to_have_value("Europe/Dublin")
    page.fill("textarea[name=description]", "Bicycle servicing and repairs by the quays.")
    page.click("button[data-next]")
    page.fill("input[name='hours.sat']", "10:00-14:00")
    page.fill("textarea[name=services]", "Full service | 90 | €85\nPuncture repair | 20 | €15")
    page.click("button[data-next]")
    page.fill("input[name=personality]", "cheerful and brief")
    shot(page, "setup-wizard-step4")
    page.click("button[data-finish]")

    expect(page).to_have_url(f"{server.url}/t/liffey-bike-repairs/welcome")
    expect(page.locator("h1")).to_contain_text("Liffey Bike Repairs is ready")
    expect(page.get_by_role("link", name="Add a website or files")).to_be_visible()
    expect(page.get_by_role("link", name="Set up the SIP trunk")).to_be_visible()
    shot(page, "setup-welcome")

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
    page.goto(f"{server.url}/t/liffey-bike-repairs/assistant")
    expect(page.locator("input[name=personality]")).to_have_value("cheerful and brief")
    # The wizard runs once: afterwards it sends people to sign in.
    page.context.clear_cookies()
    page.goto(f"{server.url}/setup")
    expect(page).to_have_url(f"{server.url}/login")


def test_sign_in_and_out(server: Served, page: Page) -> None:
    page.goto(f"{server.url}/t/liffey-bike-repairs/calls")
    expect(page).to_have_url(f"{server.url}/login?next=/t/liffey-bike-repairs/calls")
    page.fill("input[name=email]", "roisin@example.ie")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/t/liffey-bike-repairs/calls")
    cookie = next(c for c in page.context.cookies() if c["name"].endswith("appliance_session"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server.url}/login")
    # The session is gone on the server, not only in the browser.
    page.context.add_cookies([cookie])  # type: ignore[list-item]
    page.goto(f"{server.url}/t/liffey-bike-repairs/calls")
    expect(page).to_have_url(f"{server.url}/login?next=/t/liffey-bike-repairs/calls")


def test_wrong_password_is_refused(server: Served, page: Page) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=email]", "roisin@example.ie")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    expect(page).to_have_url(f"{server.url}/login")
    shot(page, "login-wrong-password")
    assert not any(c["name"].endswith("appliance_session") for c in page.context.cookies())


def test_login_is_rate_limited(server: Served, page: Page) -> None:
    # An account of its own, so failures counted by other tests do not change the count here.
    Accounts(server.runtime.store).create(email="mechanic@example.ie", name="Mechanic", password=PASSWORD)
    attempts = server.runtime.settings.web.login_attempts
    page.goto(f"{server.url}/login")
    for _ in range(attempts):
        page.fill("input[name=email]", "MECHANIC@example.ie ")
        page.fill("input[name=password]", "guess guess guess")
        page.click("button[type=submit]")
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    # Now even the right password is refused until the window has passed.
    page.fill("input[name=email]", "mechanic@example.ie")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as reply:
        page.click("button[type=submit]")
    assert reply.value.status == 429
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    shot(page, "login-rate-limited")
    assert not any(c["name"].endswith("appliance_session") for c in page.context.cookies())


def test_a_form_without_the_csrf_token_is_refused(server: Served, page: Page) -> None:
    page.goto(f"{server.url}/login")
    reply = page.request.post(f"{server.url}/login", form={"email": "roisin@example.ie", "password": PASSWORD})
    assert reply.status == 403
