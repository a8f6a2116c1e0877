"""Who is asking, worked out once per request before any handler runs, and the CSRF check for requests that a
browser's cookie authenticates.

Credentials, in order: ``Authorization: Bearer`` with the CLI's token (installer on every business) or a
business's API token; else the session cookie. The result is ``scope["state"]["principal"]`` (None when
anonymous). Bearer requests carry no ambient authority, so only cookie-authenticated requests, and anonymous
form posts to pages (login, setup), must prove with a CSRF token that they came from our own pages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import ASGIMiddleware

from web.auth import cookies
from web.auth.policy import Principal, Role, lower_role
from web.store.tokens import PREFIX as TOKEN_PREFIX
from web.store.tokens import TokenOwner

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

    from web.context import WebContext

log = logging.getLogger("appliance.web.auth")

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_LIMIT = 1 << 20
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    found: Principal | None = connection.scope.get("state", {}).get("principal")
    return found


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def resolve(web: WebContext, connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[Principal | None, str]:
    """The principal and how they authenticated: "bearer", "cookie" or "none"."""
    bearer = _bearer(connection)
    if bearer is not None:
        if hmac.compare_digest(bearer.encode(), web.cli_token.encode()):
            return Principal(kind="cli", id="cli", name="cli", everywhere=True, installer=True), "bearer"
        if bearer.startswith(TOKEN_PREFIX):
            owner = web.tokens.resolve(bearer)
            if owner is not None:
                return _token_principal(web, owner), "bearer"
        raise NotAuthorizedException("the API token is not valid (revoked, mistyped, or from another box)")
    cookie = cookies.read(connection, cookies.SESSION)
    if cookie:
        row = web.sessions.lookup(cookie)
        if row is not None:
            account = web.accounts.get(row.user_id)
            principal = Principal(
                kind="user",
                id=account.id,
                name=account.email,
                roles=account.roles,
                installer=account.installer,
                csrf=row.csrf,
                session=row.id_hash,
            )
            return principal, "cookie"
    return None, "none"


def token_role(web: WebContext, owner: TokenOwner) -> Role | None:
    """What a token is worth now: the role it was made with, capped by its creator's current role in its business
    (None when the creator has none there any more, or is disabled). Looked up on every request."""
    if owner.creator_user is None:
        return owner.role  # the CLI's
    return lower_role(owner.role, web.accounts.role_of(owner.creator_user, owner.tenant_id))


def _token_principal(web: WebContext, owner: TokenOwner) -> Principal:
    role = token_role(web, owner)
    if role is None:
        log.warning(
            "refused API token %s (%s) of %s: whoever made it (%s) no longer has a role there; make a new one",
            owner.id, owner.name, owner.tenant_id, owner.created_by,
        )  # fmt: skip
        raise NotAuthorizedException(
            "this API token no longer works: whoever made it no longer has access to the business"
        )
    return Principal(kind="token", id=owner.id, name=owner.name, roles={owner.tenant_id: role})


def still_valid(web: WebContext, principal: Principal) -> Principal | None:
    """The principal as they stand now, for a connection that lasts (a websocket): None once their session has
    ended or their token no longer works; otherwise with their current roles."""
    if principal.kind == "user":
        if principal.session is None or not web.sessions.alive(principal.session):
            return None
        account = web.accounts.get(principal.id)
        if account.disabled:
            return None
        return dataclasses.replace(principal, roles=account.roles, installer=account.installer)
    if principal.kind == "token":
        owner = web.tokens.by_id(principal.id)
        role = None if owner is None else token_role(web, owner)
        return None if role is None or owner is None else dataclasses.replace(principal, roles={owner.tenant_id: role})
    return principal


class IdentityMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        return scope["path"].startswith("/static/") or scope["path"] == "/healthz"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        web: WebContext = scope["litestar_app"].state.web
        connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope, receive)
        principal, how = await asyncio.to_thread(resolve, web, connection)
        scope.setdefault("state", {})["principal"] = principal
        if scope["type"] == ScopeType.WEBSOCKET:
            if how == "cookie":
                _check_origin(connection)
        elif scope["method"] not in _SAFE and how != "bearer":
            is_page = not scope["path"].startswith("/api/")
            if how == "cookie" or is_page:
                expected = principal.csrf if principal is not None else cookies.read(connection, cookies.CSRF)
                receive = await _check_csrf(connection, receive, expected)
        await next_app(scope, receive, send)


def _check_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Browsers send Origin on websockets; a page on another site must not ride on our cookie."""
    origin = connection.headers.get("origin")
    host = connection.headers.get("host", "")
    if origin is not None and origin.split("://", 1)[-1] != host:
        log.warning("refused a websocket from another origin: %s (host %s)", origin, host)
        raise PermissionDeniedException("cross-site websocket refused")


async def _check_csrf(
    connection: ASGIConnection[Any, Any, Any, Any], receive: Receive, expected: str | None
) -> Receive:
    """Checks the token from the header or, for a plain HTML form, the ``_csrf`` field; returns a ``receive``
    that replays the body if it had to be read."""
    submitted = connection.headers.get(CSRF_HEADER)
    replay = receive
    content_type = connection.headers.get("content-type", "")
    if submitted is None and content_type.startswith("application/x-www-form-urlencoded"):
        body, replay = await _read_body(receive)
        fields = parse_qs(body.decode("latin-1"), keep_blank_values=True)
        submitted = next(iter(fields.get(CSRF_FIELD, [])), None)
    if not expected or not submitted or not hmac.compare_digest(submitted.encode(), expected.encode()):
        log.warning(
            "refused a form without a valid CSRF token: %s %s", connection.scope.get("method"), connection.scope["path"]
        )
        raise PermissionDeniedException("this form has expired or did not come from this site; reload the page")
    return replay


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    size = 0
    messages: list[ReceiveMessage] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _FORM_LIMIT:
            raise PermissionDeniedException("the form is too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    pending = list(messages)

    async def replay() -> ReceiveMessage:
        if pending:
            return pending.pop(0)
        return await receive()

    return b"".join(chunks), replay
