"""Accounts shared between businesses: one business's owner cannot take over another's account. An existing
account joins only by invitation (accepted with a code) or an installer's grant; a person changes their own
password; an owner's reset reaches only members they manage in every business, and ends their sessions and
tokens; a removal or demotion ends access to that business at once, and a token is never worth more than its
creator's current role. Against the real app, over HTTP, and the pages in Chromium."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.web.conftest import fresh_runtime
from tests.web.harness import Served, serve, shot
from tests.web.seed import PASSWORD, Seeded, seed
from web.store.accounts import Accounts

DENTAL, BAKERY = "harbour-dental", "kowloon-bakery"
ATTACKER_PASSWORD = "the bakery owner knows this"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[Served, Seeded]]:
    """The seeded businesses on a server of this module's own: these tests change accounts."""
    runtime = fresh_runtime(tmp_path_factory.mktemp("accounts"), models_dir)
    data = seed(runtime)
    with serve(runtime) as served:
        yield served, data
    runtime.close()


@pytest.fixture
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    made: list[httpx.AsyncClient] = []
    yield made
    for client in made:
        await client.aclose()


async def sign_in(
    served: Served, email: str, clients: list[httpx.AsyncClient], password: str = PASSWORD
) -> httpx.AsyncClient:
    """An HTTP client with a session cookie, sending the session's CSRF token with every request."""
    client = httpx.AsyncClient(base_url=served.url, timeout=30)
    clients.append(client)
    form = await client.get("/login")
    token = re.search(r'name="_csrf" value="([^"]+)"', form.text)
    assert token is not None
    reply = await client.post("/login", data={"_csrf": token[1], "email": email, "password": password, "next": "/"})
    assert reply.status_code in (302, 303), f"sign-in as {email} failed: {reply.status_code}"
    page = await client.get("/account")
    csrf = re.search(r'data-csrf="([^"]+)"', page.text)
    assert csrf is not None
    client.headers["X-CSRF-Token"] = csrf[1]
    return client


async def login_status(served: Served, email: str, password: str) -> int:
    async with httpx.AsyncClient(base_url=served.url) as client:
        form = await client.get("/login")
        token = re.search(r'name="_csrf" value="([^"]+)"', form.text)
        assert token is not None
        reply = await client.post("/login", data={"_csrf": token[1], "email": email, "password": password})
        return reply.status_code


def audit_actions(served: Served, tenant: str) -> list[str]:
    rows = served.runtime.store.rows("SELECT action FROM audit_log WHERE tenant_id = ? ORDER BY occurred_at", [tenant])
    return [r[0] for r in rows]


def member_of(served: Served, email: str) -> dict[str, str]:
    accounts = Accounts(served.runtime.store)
    user = accounts.find(email)
    return {} if user is None else dict(accounts.get(user).roles)


def add_person(served: Served, email: str, tenant: str, role: Any, *, installer: bool = False) -> str:
    accounts = Accounts(served.runtime.store)
    user = accounts.create(email=email, name=email.split("@")[0].title(), password=PASSWORD, installer=installer)
    accounts.grant(user, tenant, role)
    return user


async def test_an_account_made_in_advance_by_another_business_cannot_be_taken_over(
    world: tuple[Served, Seeded], clients: list[httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    served, data = world
    victim = "new.hygienist@harbour.example"
    # The bakery's owner makes an account under the address the practice is about to add, with a password they know.
    bakery = await sign_in(served, data.other_owner, clients)
    made = await bakery.post(
        f"/api/v1/tenants/{BAKERY}/users",
        json={"email": victim, "role": "agent", "name": "Hygienist", "password": ATTACKER_PASSWORD},
    )
    assert made.status_code == 201 and made.json()["outcome"] == "added"

    # The practice's owner adds the address with a password of their own: it is an invitation, not a grant.
    dental = await sign_in(served, data.owner, clients)
    caplog.set_level(logging.INFO, logger="appliance.web.users")
    added = await dental.post(
        f"/api/v1/tenants/{DENTAL}/users",
        json={"email": victim, "role": "supervisor", "name": "Hygienist", "password": "practice's own password"},
    )
    assert added.status_code == 201
    reply = added.json()
    assert reply["outcome"] == "invited" and reply["member"] is None
    code = reply["code"]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert code in reply["notice"] and "were not used" in reply["notice"]
    assert member_of(served, victim) == {BAKERY: "agent"}
    assert code not in str(served.runtime.store.rows("SELECT * FROM invitations"))
    assert "user.invite" in audit_actions(served, DENTAL)
    assert any("invited the existing account" in r.getMessage() for r in caplog.records)
    # The password the practice sent did not become the account's.
    assert await login_status(served, victim, "practice's own password") == 401
    pending = (await dental.get(f"/api/v1/tenants/{DENTAL}/invitations")).json()
    assert [(i["email"], i["role"]) for i in pending] == [(victim, "supervisor")]

    # Whoever holds the account sees the invitation, but cannot accept it without the practice's code.
    holder = await sign_in(served, victim, clients, ATTACKER_PASSWORD)
    assert (await holder.get("/", follow_redirects=False)).headers["location"] == "/account"
    invitations = (await holder.get("/api/v1/me/invitations")).json()
    assert [(i["business"], i["role"]) for i in invitations] == [("Harbour Dental", "supervisor")]
    invitation = invitations[0]["id"]
    wrong = await holder.post(f"/api/v1/me/invitations/{invitation}/accept", json={"code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 400 and "not the code" in wrong.json()["detail"]
    assert member_of(served, victim) == {BAKERY: "agent"}
    assert "user.invite_wrong_code" in audit_actions(served, DENTAL)
    # Nor can anyone else accept it, even with the code.
    other = await sign_in(served, data.other_owner, clients)
    assert (await other.post(f"/api/v1/me/invitations/{invitation}/accept", json={"code": code})).status_code == 404
    # A token has no invitations of its own.
    async with httpx.AsyncClient(base_url=served.url, headers={"Authorization": f"Bearer {served.cli_token}"}) as cli:
        assert (await cli.get("/api/v1/me/invitations")).status_code == 403

    # The owner withdraws it when the person says they never made an account.
    assert (await dental.delete(f"/api/v1/tenants/{DENTAL}/invitations/{invitation}")).status_code == 204
    assert (await holder.post(f"/api/v1/me/invitations/{invitation}/accept", json={"code": code})).status_code == 404
    assert member_of(served, victim) == {BAKERY: "agent"}
    assert "user.invite_withdraw" in audit_actions(served, DENTAL)


async def test_an_invitation_is_accepted_with_its_code_or_declined(
    world: tuple[Served, Seeded], clients: list[httpx.AsyncClient]
) -> None:
    served, data = world
    # The bakery's owner is asked to help at the practice.
    dental = await sign_in(served, data.owner, clients)
    reply = await dental.post(f"/api/v1/tenants/{DENTAL}/users", json={"email": data.other_owner, "role": "agent"})
    code = reply.json()["code"]
    bakery = await sign_in(served, data.other_owner, clients)
    invitation = (await bakery.get("/api/v1/me/invitations")).json()[0]["id"]
    # An existing member is not invited again.
    again = await dental.post(f"/api/v1/tenants/{DENTAL}/users", json={"email": data.agent, "role": "agent"})
    assert again.status_code == 400 and "already a member" in again.json()["detail"]
    joined = await bakery.post(f"/api/v1/me/invitations/{invitation}/accept", json={"code": code.lower()})
    assert joined.status_code == 201 and joined.json() == {"tenant_id": DENTAL, "role": "agent"}
    assert member_of(served, data.other_owner) == {BAKERY: "owner", DENTAL: "agent"}
    assert "user.invite_accept" in audit_actions(served, DENTAL)
    assert (await bakery.get(f"/api/v1/tenants/{DENTAL}/calls")).status_code == 200

    # A second invitation, declined: nothing is granted.
    add_person(served, "locum@kowloon.example", BAKERY, "agent")
    reply = await dental.post(
        f"/api/v1/tenants/{DENTAL}/users", json={"email": "locum@kowloon.example", "role": "agent"}
    )
    assert reply.json()["outcome"] == "invited"
    locum = await sign_in(served, "locum@kowloon.example", clients)
    invitation = (await locum.get("/api/v1/me/invitations")).json()[0]["id"]
    assert (await locum.post(f"/api/v1/me/invitations/{invitation}/decline")).status_code == 200
    assert (await locum.get("/api/v1/me/invitations")).json() == []
    assert "user.invite_decline" in audit_actions(served, DENTAL)
    assert DENTAL not in member_of(served, "locum@kowloon.example")


async def test_only_an_installer_grants_an_existing_account_directly(
    world: tuple[Served, Seeded], clients: list[httpx.AsyncClient]
) -> None:
    served, data = world
    add_person(served, "fitter@installers.example", DENTAL, "installer", installer=True)
    add_person(served, "temp@kowloon.example", BAKERY, "agent")
    owner = await sign_in(served, data.owner, clients)
    refused = await owner.post(
        f"/api/v1/tenants/{DENTAL}/users", json={"email": "temp@kowloon.example", "role": "agent", "direct": True}
    )
    assert refused.status_code == 403 and "only an installer" in refused.json()["detail"]
    installer = await sign_in(served, "fitter@installers.example", clients)
    granted = await installer.post(
        f"/api/v1/tenants/{DENTAL}/users", json={"email": "temp@kowloon.example", "role": "agent", "direct": True}
    )
    assert granted.status_code == 201 and granted.json()["outcome"] == "granted"
    assert member_of(served, "temp@kowloon.example") == {BAKERY: "agent", DENTAL: "agent"}


async def test_a_person_changes_their_own_password_and_their_other_sessions_end(
    world: tuple[Served, Seeded], clients: list[httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    served, _ = world
    email = "receptionist@harbour.example"
    add_person(served, email, DENTAL, "agent")
    here = await sign_in(served, email, clients)
    elsewhere = await sign_in(served, email, clients)
    wrong = await here.post("/api/v1/me/password", json={"current": "not my password", "new": "a brand new password"})
    assert wrong.status_code == 400 and wrong.json()["detail"] == "the current password is wrong"
    short = await here.post("/api/v1/me/password", json={"current": PASSWORD, "new": "short"})
    assert short.status_code == 400 and "at least 10" in short.json()["detail"]
    caplog.set_level(logging.INFO, logger="appliance.web.account")
    changed = await here.post("/api/v1/me/password", json={"current": PASSWORD, "new": "a brand new password"})
    assert changed.status_code == 201 and changed.json() == {"other_sessions_ended": 1}
    assert any("changed their password" in r.getMessage() for r in caplog.records)
    assert (await here.get(f"/api/v1/tenants/{DENTAL}/calls")).status_code == 200
    assert (await elsewhere.get(f"/api/v1/tenants/{DENTAL}/calls")).status_code == 401
    assert await login_status(served, email, PASSWORD) == 401
    assert await login_status(served, email, "a brand new password") in (302, 303)
    assert "user.password" in audit_actions(served, DENTAL)
    # Guessing the current password from a stolen session meets the throttle.
    for _ in range(5):
        await here.post("/api/v1/me/password", json={"current": "guess", "new": "another new password"})
    assert (await here.post("/api/v1/me/password", json={"current": "guess", "new": "x" * 12})).status_code == 429


async def test_an_owner_resets_a_member_they_manage_everywhere_and_no_one_else(
    world: tuple[Served, Seeded], clients: list[httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    served, data = world
    partner = "partner@harbour.example"
    add_person(served, partner, DENTAL, "owner")
    partner_session = await sign_in(served, partner, clients)
    made = await partner_session.post(f"/api/v1/tenants/{DENTAL}/tokens", json={"name": "partner's script"})
    token = made.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert (await partner_session.get(f"/api/v1/tenants/{DENTAL}/calls", headers=bearer)).status_code == 200

    owner = await sign_in(served, data.owner, clients)
    partner_id = Accounts(served.runtime.store).find(partner)
    caplog.set_level(logging.INFO, logger="appliance.web.users")
    reset = await owner.post(f"/api/v1/tenants/{DENTAL}/users/{partner_id}/reset-password")
    assert reset.status_code == 201
    link = reset.json()
    assert link["url"].endswith(link["path"]) and link["path"].startswith("/reset/")
    assert link["path"].removeprefix("/reset/") not in str(served.runtime.store.rows("SELECT * FROM password_resets"))
    # Signed out everywhere, their tokens revoked, the old password dead.
    async with httpx.AsyncClient(base_url=served.url, headers=bearer) as script:
        assert (await script.get(f"/api/v1/tenants/{DENTAL}/calls")).status_code == 401
    assert (await partner_session.get(f"/api/v1/tenants/{DENTAL}/calls")).status_code == 401
    assert await login_status(served, partner, PASSWORD) == 401
    assert "user.reset_password" in audit_actions(served, DENTAL)
    assert any("reset the password of partner@" in r.getMessage() for r in caplog.records)

    # The link: a new password, signed in, and the link is spent.
    async with httpx.AsyncClient(base_url=served.url) as browser:
        form = await browser.get(link["path"])
        assert form.status_code == 200 and partner in form.text
        csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        fields = {"_csrf": csrf[1], "password": "partner's new password", "password2": "partner's new password"}
        done = await browser.post(link["path"], data=fields)
        assert done.status_code in (302, 303)
        assert (await browser.get("/api/v1/me")).json()["name"] == partner
        assert (await browser.get(link["path"])).status_code == 404
    assert await login_status(served, partner, "partner's new password") in (302, 303)

    # Not yourself (that is a password change), and not someone who also belongs to a business you do not manage.
    owner_id = Accounts(served.runtime.store).find(data.owner)
    assert (await owner.post(f"/api/v1/tenants/{DENTAL}/users/{owner_id}/reset-password")).status_code == 403
    shared = add_person(served, "shared@harbour.example", DENTAL, "agent")
    Accounts(served.runtime.store).grant(shared, BAKERY, "owner")
    refused = await owner.post(f"/api/v1/tenants/{DENTAL}/users/{shared}/reset-password")
    assert refused.status_code == 403 and "another business that you do not manage" in refused.json()["detail"]
    assert "kowloon" not in refused.json()["detail"]  # which business is not told
    assert await login_status(served, "shared@harbour.example", PASSWORD) in (302, 303)
    assert "user.reset_refused" in audit_actions(served, DENTAL)
    # A supervisor cannot reset anyone.
    supervisor = await sign_in(served, data.supervisor, clients)
    agent_id = Accounts(served.runtime.store).find(data.agent)
    assert (await supervisor.post(f"/api/v1/tenants/{DENTAL}/users/{agent_id}/reset-password")).status_code == 403


async def test_removal_and_demotion_end_access_to_that_business_and_cap_tokens(
    world: tuple[Served, Seeded], clients: list[httpx.AsyncClient]
) -> None:
    served, data = world
    manager = "manager@harbour.example"
    manager_id = add_person(served, manager, DENTAL, "owner")
    Accounts(served.runtime.store).grant(manager_id, BAKERY, "agent")
    session = await sign_in(served, manager, clients)
    token = await session.post(f"/api/v1/tenants/{DENTAL}/tokens", json={"name": "owner script", "role": "owner"})
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    # A token made by that token, revoked with it later.
    child = await session.post(
        f"/api/v1/tenants/{DENTAL}/tokens", json={"name": "child", "role": "supervisor"}, headers=bearer
    )
    assert child.status_code == 201
    child_bearer = {"Authorization": f"Bearer {child.json()['token']}"}
    script = httpx.AsyncClient(base_url=served.url)
    clients.append(script)
    assert (await script.get(f"/api/v1/tenants/{DENTAL}/audit", headers=bearer)).status_code == 200

    owner = await sign_in(served, data.owner, clients)
    demoted = await owner.put(f"/api/v1/tenants/{DENTAL}/users/{manager_id}", json={"role": "agent"})
    assert demoted.status_code == 200
    # The owner token is worth an agent's now, on the very next request; the person's session too.
    assert (await script.get(f"/api/v1/tenants/{DENTAL}/audit", headers=bearer)).status_code == 403
    assert (await script.get(f"/api/v1/tenants/{DENTAL}/calls", headers=bearer)).status_code == 200
    assert (await script.get(f"/api/v1/tenants/{DENTAL}/calls", headers=child_bearer)).status_code == 200
    assert (
        await script.post(f"/api/v1/tenants/{DENTAL}/tokens", json={"name": "x"}, headers=bearer)
    ).status_code == 403
    assert (await session.get(f"/api/v1/tenants/{DENTAL}/audit")).status_code == 403

    removed = await owner.delete(f"/api/v1/tenants/{DENTAL}/users/{manager_id}")
    assert removed.status_code == 204
    assert (await script.get(f"/api/v1/tenants/{DENTAL}/calls", headers=bearer)).status_code == 401
    assert (await script.get(f"/api/v1/tenants/{DENTAL}/calls", headers=child_bearer)).status_code == 401
    assert (await session.get(f"/api/v1/tenants/{DENTAL}/calls")).status_code == 403
    # Their other business is not this owner's to end.
    assert (await session.get(f"/api/v1/tenants/{BAKERY}/calls")).status_code == 200
    # Re-adding them does not bring the old tokens back.
    Accounts(served.runtime.store).grant(manager_id, DENTAL, "owner")
    assert (await script.get(f"/api/v1/tenants/{DENTAL}/calls", headers=bearer)).status_code == 401
    Accounts(served.runtime.store).revoke(manager_id, DENTAL)

    # Someone left with no business at all is signed out.
    loner = add_person(served, "loner@harbour.example", DENTAL, "agent")
    loner_session = await sign_in(served, "loner@harbour.example", clients)
    assert (await owner.delete(f"/api/v1/tenants/{DENTAL}/users/{loner}")).status_code == 204
    assert (await loner_session.get("/api/v1/me")).status_code == 401


async def test_a_token_made_by_someone_who_loses_their_role_stops_working_even_if_not_revoked(
    world: tuple[Served, Seeded], clients: list[httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    """Membership changed another way than through the API (the CLI, an installer's tool): the token is checked
    against the creator's role on every request, not only revoked by the API."""
    served, _ = world
    maker = add_person(served, "maker@harbour.example", DENTAL, "owner")
    session = await sign_in(served, "maker@harbour.example", clients)
    made = await session.post(f"/api/v1/tenants/{DENTAL}/tokens", json={"name": "maker's", "role": "owner"})
    bearer = {"Authorization": f"Bearer {made.json()['token']}"}
    Accounts(served.runtime.store).revoke(maker, DENTAL)
    caplog.set_level(logging.WARNING, logger="appliance.web.auth")
    async with httpx.AsyncClient(base_url=served.url, headers=bearer) as script:
        refused = await script.get(f"/api/v1/tenants/{DENTAL}/calls")
    assert refused.status_code == 401 and "no longer has access" in refused.json()["detail"]
    assert any("no longer has a role there" in r.getMessage() for r in caplog.records)


async def test_the_pages_invite_reset_and_change_a_password(
    browser: Browser, world: tuple[Served, Seeded], clients: list[httpx.AsyncClient]
) -> None:
    served, data = world
    add_person(served, "visiting@kowloon.example", BAKERY, "agent")
    context = await browser.new_context(timezone_id="UTC")
    page = await context.new_page()
    await page.goto(f"{served.url}/login")
    await page.fill("input[name=email]", data.owner)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.goto(f"{served.url}/t/{DENTAL}/settings#users")
    await page.fill("#users input[name=email]", "visiting@kowloon.example")
    await page.select_option("#users form.row select[name=role]", "agent")
    await page.click("#users form.row button[type=submit]")
    notice = page.locator("#users > [data-result] code")
    await expect(notice).to_contain_text("already has an account, so they were invited")
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", await notice.inner_text())
    assert code is not None
    await page.reload()
    await expect(page.locator("#users table")).to_contain_text("invited")
    # Reset the agent's password: the link is shown once.
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    row = page.locator("#users tr", has_text=data.agent)
    await row.get_by_role("button", name="Reset password").click()
    await expect(row.locator("[data-result] code")).to_contain_text("/reset/")
    await shot(page, "settings-users-reset")
    await context.close()

    # The invited person signs in, lands on their account page, and accepts with the code.
    context = await browser.new_context(timezone_id="UTC")
    page = await context.new_page()
    await page.goto(f"{served.url}/login")
    await page.fill("input[name=email]", "visiting@kowloon.example")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{served.url}/account")
    await expect(page.locator("#invitations")).to_contain_text("Harbour Dental")
    await shot(page, "account-invitation")
    await page.fill("#invitations input[name=code]", code[0])
    await page.get_by_role("button", name="Accept").click()
    await page.wait_for_url(lambda url: "/account" not in url)
    assert member_of(served, "visiting@kowloon.example") == {BAKERY: "agent", DENTAL: "agent"}
    # Changing the password from the same page.
    await page.goto(f"{served.url}/account")
    await page.fill("input[name=current]", PASSWORD)
    await page.fill("input[name=new]", "visiting's new password")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator("#toast")).to_contain_text("Password changed")
    await context.close()
    assert await login_status(served, "visiting@kowloon.example", "visiting's new password") in (302, 303)


async def test_an_open_live_feed_closes_when_its_viewer_is_removed(
    browser: Browser, world: tuple[Served, Seeded], clients: list[httpx.AsyncClient]
) -> None:
    served, data = world
    watcher = add_person(served, "watcher@harbour.example", DENTAL, "agent")
    context = await browser.new_context(timezone_id="UTC")
    page = await context.new_page()
    await page.goto(f"{served.url}/login")
    await page.fill("input[name=email]", "watcher@harbour.example")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    feed = served.url.replace("http", "ws") + f"/api/v1/tenants/{DENTAL}/live/feed"
    await page.evaluate(
        """(url) => { window.feedClosed = new Promise((resolve) => {
             const ws = new WebSocket(url);
             ws.onopen = () => { window.feedOpen = true; };
             ws.onclose = () => resolve(true);
           }); }""",
        feed,
    )
    await page.wait_for_function("window.feedOpen === true")
    owner = await sign_in(served, data.owner, clients)
    assert (await owner.delete(f"/api/v1/tenants/{DENTAL}/users/{watcher}")).status_code == 204
    closed = await page.evaluate(
        "Promise.race([window.feedClosed, new Promise(r => setTimeout(() => r(false), 8000))])"
    )
    assert closed is True
    await context.close()
