"""Signing in and out, a reset link's new password, the first-run wizard, and the front door that sends each
person to the right page."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Response, Template

from core.errors import ApplianceError, InputError, NotFoundError
from core.store import audit
from core.tenants.document import DAYS, parse_tenant
from models.catalog import CATALOG
from web.api.tenants import visible_tenants
from web.auth import cookies
from web.auth.identity import principal_of
from web.auth.passwords import check_strength
from web.auth.policy import Principal
from web.context import WebContext
from web.pages.config import PERSONALITIES
from web.pages.layout import render
from web.store.accounts import normalise_email

log = logging.getLogger("appliance.web.login")

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
_setup_lock = threading.Lock()
_DEFAULT_HOURS = {"mon": "09:00-17:00", "tue": "09:00-17:00", "wed": "09:00-17:00", "thu": "09:00-17:00",
                  "fri": "09:00-17:00", "sat": "closed", "sun": "closed"}  # fmt: skip


def _address(request: Request[Any, Any, Any]) -> str:
    web: WebContext = request.app.state.web
    return web.proxies.client_address(request)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _anonymous_form(request: Request[Any, Any, Any], template: str, status: int = 200, **context: Any) -> Template:
    """A form shown before signing in: it carries a CSRF token matched by a cookie (double submit)."""
    settings = request.app.state.web.runtime.settings.web
    token = cookies.read(request, cookies.CSRF) or secrets.token_urlsafe(24)
    page = render(request, template, status_code=status, csrf=token, **context)
    page.cookies.append(
        cookies.make(cookies.CSRF, token, secure=cookies.is_secure(request, settings), max_age=None, same_site="strict")
    )
    return page


def _sign_in(request: Request[Any, Any, Any], web: WebContext, user_id: str, target: str) -> Redirect:
    token, _ = web.sessions.create(user_id, address=_address(request), user_agent=request.headers.get("user-agent"))
    secure = cookies.is_secure(request, web.runtime.settings.web)
    redirect = Redirect(target)
    redirect.cookies.append(
        cookies.make(cookies.SESSION, token, secure=secure, max_age=int(web.sessions.lifetime.total_seconds()))
    )
    return redirect


@get("/", permission="public", sync_to_thread=True, include_in_schema=False)
def front_door(request: Request[Any, Any, Any], web: WebContext) -> Redirect:
    principal = principal_of(request)
    if principal is None:
        return Redirect("/setup" if web.accounts.count() == 0 else "/login")
    if principal.kind == "user" and web.invitations.of_user(principal.id):
        return Redirect("/account")  # a business is waiting for an answer
    tenants = visible_tenants(web.runtime, principal)
    if len(tenants) == 1:
        return Redirect(f"/t/{tenants[0].id}/dashboard")
    return Redirect("/businesses")


# GET handlers that share their path with a POST are async: Litestar wraps a sync_to_thread handler once per
# handler on the path, and a doubly wrapped one returns a coroutine instead of a response.
@get("/login", permission="public", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], web: WebContext, next: str = "/") -> Response[Any]:
    if await asyncio.to_thread(web.accounts.count) == 0:
        return Redirect("/setup")
    return _anonymous_form(request, "login.html", next=_safe_next(next))


@post("/login", permission="public", include_in_schema=False)
async def login(request: Request[Any, Any, Any], web: WebContext, data: Form) -> Response[Any]:
    email = data.get("email", "").strip().lower()[:320]
    target = _safe_next(data.get("next"))
    address = _address(request)
    wait = web.throttle.retry_after(address, email)
    if wait > 0:
        log.warning("login refused: too many failed attempts for %s from %s", email, address)
        minutes = max(1, round(wait / 60))
        return _anonymous_form(
            request, "login.html", 429, next=target, email=email,
            error=f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}.",
        )  # fmt: skip
    account = await asyncio.to_thread(web.accounts.authenticate, email, data.get("password", ""))
    if account is None:
        web.throttle.failed(address, email)
        log.warning("failed login for %s from %s", email, address)
        return _anonymous_form(request, "login.html", 401, next=target, email=email, error="Wrong email or password.")
    web.throttle.succeeded(address, email)
    log.info("signed in: %s from %s", email, address)
    return await asyncio.to_thread(_sign_in, request, web, account.id, target)


@post("/logout", permission="signed_in", sync_to_thread=True, include_in_schema=False)
def logout(request: Request[Any, Any, Any], web: WebContext, principal: Principal) -> Redirect:
    if principal.session:
        web.sessions.end(principal.session)
    redirect = Redirect("/login")
    redirect.cookies.append(cookies.clear(cookies.SESSION, cookies.is_secure(request, web.runtime.settings.web)))
    return redirect


def _reset_user(web: WebContext, token: str) -> str:
    user_id = web.resets.user_for(token)
    if user_id is None:
        raise NotFoundError("this reset link has expired or has been used; ask the business's owner for a new one")
    return user_id


@get("/reset/{token:str}", permission="public", include_in_schema=False)
async def reset_page(request: Request[Any, Any, Any], web: WebContext, token: str) -> Response[Any]:
    user_id = await asyncio.to_thread(_reset_user, web, token)
    if principal_of(request) is not None:
        raise InputError("you are signed in: sign out first, then open this link again")
    account = await asyncio.to_thread(web.accounts.get, user_id)
    return _anonymous_form(request, "reset.html", email=account.email, token=token)


@post("/reset/{token:str}", permission="public", include_in_schema=False)
async def reset(request: Request[Any, Any, Any], web: WebContext, token: str, data: Form) -> Response[Any]:
    """The member's new password, from the one-time link an owner gave them; signs them in."""
    user_id = await asyncio.to_thread(_reset_user, web, token)
    if principal_of(request) is not None:
        raise InputError("you are signed in: sign out first, then open this link again")
    account = await asyncio.to_thread(web.accounts.get, user_id)
    try:
        if data.get("password", "") != data.get("password2", ""):
            raise InputError("the two passwords differ")
        await asyncio.to_thread(web.accounts.set_password, user_id, data.get("password", ""))
    except InputError as exc:
        return _anonymous_form(request, "reset.html", 400, email=account.email, token=token, error=str(exc))
    await asyncio.to_thread(_reset_done, web, token, user_id, account.email, _address(request))
    return await asyncio.to_thread(_sign_in, request, web, user_id, "/")


def _reset_done(web: WebContext, token: str, user_id: str, email: str, address: str) -> None:
    web.resets.used(token)
    web.sessions.end_for_user(user_id)
    for tenant_id in web.accounts.get(user_id).roles:
        audit.record(
            web.runtime.store,
            tenant_id=tenant_id,
            actor=f"user:{email}",
            action="user.password_reset_done",
            target=user_id,
        )
    log.info("%s chose a new password with a reset link, from %s", email, address)


def _wizard_context() -> dict[str, Any]:
    voices = [s for s in CATALOG.values() if s.role == "tts"]
    return {"days": DAYS, "voices": voices, "personalities": PERSONALITIES, "form": {"hours": dict(_DEFAULT_HOURS)}}


@get("/setup", permission="public", include_in_schema=False)
async def setup_page(request: Request[Any, Any, Any], web: WebContext) -> Response[Any]:
    if await asyncio.to_thread(web.accounts.count) > 0:
        return Redirect("/login")
    return _anonymous_form(request, "setup.html", **_wizard_context())


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-")
    return slug if len(slug) >= 2 else f"business-{secrets.token_hex(2)}"


def _services(text: str) -> list[dict[str, Any]]:
    """One service a line: ``Name | minutes | price``; minutes and price are optional."""
    services = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, minutes, price = [*[p.strip() for p in line.split("|")], "", ""][:3]
        service: dict[str, Any] = {"name": name, "price": price}
        if minutes:
            if not minutes.isdigit():
                raise InputError(f"services, line {n}: '{minutes}' is not a number of minutes")
            service["duration_minutes"] = int(minutes)
        services.append(service)
    return services


def _business_document(data: dict[str, str]) -> dict[str, Any]:
    name = data.get("business_name", "").strip()
    return {
        "id": data.get("business_id", "").strip() or _slug(name),
        "name": name,
        "timezone": data.get("timezone", "").strip(),
        "description": data.get("description", "").strip(),
        "phone": data.get("phone", "").strip(),
        "hours": {d: data.get(f"hours.{d}", "").strip() or "closed" for d in DAYS},
        "services": _services(data.get("services", "")),
        "assistant": {
            "greeting": data.get("greeting", "").strip(),
            "personality": data.get("personality", "").strip() or "friendly",
            "voice": data.get("voice", ""),
        },
    }


@post("/setup", permission="public", include_in_schema=False)
async def setup(request: Request[Any, Any, Any], web: WebContext, data: Form) -> Response[Any]:
    try:
        if data.get("password", "") != data.get("password2", ""):
            raise InputError("the two passwords differ")
        doc = parse_tenant(_business_document(data), source="business")
        user_id = await asyncio.to_thread(_create_first_owner, web, data, doc)
    except ApplianceError as exc:
        context = _wizard_context()
        context["form"] = {**data, "hours": {d: data.get(f"hours.{d}", "") for d in DAYS}}
        return _anonymous_form(request, "setup.html", 400, error=str(exc), **context)
    log.info("first-run setup done: business %s, owner %s", doc.id, data.get("email"))
    return await asyncio.to_thread(_sign_in, request, web, user_id, f"/t/{doc.id}/welcome")


def _create_first_owner(web: WebContext, data: dict[str, str], doc: Any) -> str:
    with _setup_lock:
        if web.accounts.count() > 0:
            raise InputError("this appliance is already set up; sign in instead")
        installer = data.get("installer") == "on"
        # Everything about the account is checked before the business is saved, so a refused form leaves nothing.
        normalise_email(data.get("email", ""))
        check_strength(data.get("password", ""))
        if not data.get("name", "").strip():
            raise InputError("your name is empty")
        web.runtime.tenants.save(doc, replace=False, actor=f"user:{data.get('email', '').strip().lower()}")
        user_id = web.accounts.create(
            email=data.get("email", ""),
            name=data.get("name", ""),
            password=data.get("password", ""),
            phone=data.get("user_phone", "").strip() or None,
            installer=installer,
        )
        actor = f"user:{data.get('email', '').strip().lower()}"
        web.accounts.grant(user_id, doc.id, "installer" if installer else "owner")
        audit.record(web.runtime.store, tenant_id=doc.id, actor=actor, action="setup.done", target=doc.id)
        return user_id


@get("/businesses", permission="signed_in", sync_to_thread=True, include_in_schema=False)
def businesses(request: Request[Any, Any, Any], web: WebContext, principal: Principal) -> Template:
    return render(request, "businesses.html", tenants=visible_tenants(web.runtime, principal), **_wizard_context())
