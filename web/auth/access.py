"""The one place access is decided. Every route declares the permission it needs in its ``opt``; this guard
runs for every route of the app, and tenant-scoped routes carry the business in their path (``{tenant_id}``).
Handlers then reach data only through a ``TenantScope`` (``web.scope``), whose queries are bound to that
business, so a handler cannot read another's rows by forgetting a filter.

A refusal is answered 403 (401 when not signed in), logged, and written to the business's audit log.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from core.store import audit
from web.auth.identity import principal_of
from web.auth.policy import Permission, Principal

log = logging.getLogger("appliance.web.access")

PERMISSION = "permission"  # route opt: a Permission, "signed_in", "installer" or "public"
TENANT_PARAM = "tenant_id"


def access_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    needed = handler.opt.get(PERMISSION)
    if needed is None:
        # A route that forgot to say what it needs is closed, not open.
        raise PermissionDeniedException("this route declares no permission")
    if needed == "public":
        return
    principal = principal_of(connection)
    if principal is None:
        raise NotAuthorizedException("sign in first")
    if needed == "signed_in":
        return
    if needed == "installer":
        if not principal.may_add_businesses:
            deny(connection, principal, None, "installer")
        return
    tenant_id = connection.path_params.get(TENANT_PARAM)
    if tenant_id is None:
        raise PermissionDeniedException("this route is misdeclared: its permission needs a business in the path")
    require(connection, principal, Permission(needed), str(tenant_id))


def require(
    connection: ASGIConnection[Any, Any, Any, Any], principal: Principal, permission: Permission, tenant_id: str
) -> None:
    """For the rare handler whose business is in the body rather than the path."""
    if not principal.may(permission, tenant_id):
        deny(connection, principal, tenant_id, str(permission))


def deny(
    connection: ASGIConnection[Any, Any, Any, Any], principal: Principal, tenant_id: str | None, needed: str
) -> None:
    role = principal.role_in(tenant_id) if tenant_id else None
    path = connection.scope["path"]
    log.warning(
        "access denied: %s (role %s) needs %s for %s %s",
        principal.actor,
        role or "none",
        needed,
        connection.scope.get("method", "WS"),
        path,
    )
    web = connection.app.state.web
    # Written to the business that was reached for, so its owner sees the attempt (known tenants only).
    known = tenant_id is not None and web.runtime.store.scalar("SELECT count(*) FROM tenants WHERE id = ?", [tenant_id])
    audit.record(
        web.runtime.store,
        tenant_id=tenant_id if known else None,
        actor=principal.actor,
        action="access.denied",
        target=path,
        detail={"needed": needed, "role": role},
    )
    raise PermissionDeniedException("you do not have access to this")
