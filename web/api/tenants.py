"""Businesses over the API (also used by the CLI while the server holds the store)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post, put

from core.errors import NotFoundError
from core.store.tenants import TenantSummary
from core.tenants import credentials
from core.tenants.document import parse_tenant
from web.auth.access import deny, require
from web.auth.policy import Permission, Principal
from web.context import WebContext
from web.host import WebHost
from web.scope import TenantScope


class Saved(msgspec.Struct):
    id: str
    existed: bool


class Business(msgspec.Struct):
    id: str
    name: str
    role: str


class Me(msgspec.Struct, kw_only=True):
    kind: str
    id: str
    name: str
    installer: bool
    businesses: list[Business]


def visible_tenants(runtime: WebHost, principal: Principal) -> list[TenantSummary]:
    return [t for t in runtime.tenants.summaries() if principal.role_in(t.id) is not None]


class TenantController(Controller):
    path = "/api/v1/tenants"
    tags = ["tenants"]

    @get("/", permission="signed_in", sync_to_thread=True)
    def list_tenants(self, runtime: WebHost, principal: Principal) -> list[TenantSummary]:
        """The businesses you can see."""
        return visible_tenants(runtime, principal)

    @get("/{tenant_id:str}", permission=Permission.TENANT_READ, sync_to_thread=True)
    def get_tenant(self, view: TenantScope) -> dict[str, Any]:
        """The business's tenant document. Its credentials (the CalDAV password, each tool's signing secret) are
        shown as "set" or "not set" to whoever may replace the document (owners), and left out for everyone else;
        their values are never shown."""
        return credentials.shown(view.tenant, may_see=view.may(Permission.TENANT_WRITE))

    @post("/", permission="installer", sync_to_thread=True)
    def create_tenant(self, web: WebContext, principal: Principal, data: dict[str, Any]) -> Saved:
        """Add a business from a tenant document (installers)."""
        doc = parse_tenant(credentials.incoming(data))
        existed = web.runtime.tenants.save(doc, replace=False, actor=principal.actor)
        if principal.kind == "user":
            web.accounts.grant(principal.id, doc.id, "installer")
        return Saved(doc.id, existed)

    @put("/", permission="signed_in", sync_to_thread=True)
    def replace_tenant(
        self, request: Request[Any, Any, Any], web: WebContext, principal: Principal, data: dict[str, Any]
    ) -> Saved:
        """Replace a business's whole document (owners), or add it if it does not exist (installers). A credential
        left out, or sent as "set", keeps the stored one; a new value replaces it; null or "" clears it. The
        business's allow_hosts (what on the box's network its tools, calendar and webhooks may reach) only an
        installer may change; left out, it is kept."""
        doc = parse_tenant(credentials.incoming(data))
        try:
            current = web.runtime.tenants.get(doc.id)
        except NotFoundError:
            if not principal.may_add_businesses:
                deny(request, principal, None, "installer")
        else:
            require(request, principal, Permission.TENANT_WRITE, doc.id)
            if "allow_hosts" not in data:
                doc = msgspec.structs.replace(doc, allow_hosts=current.allow_hosts)
            elif doc.allow_hosts != current.allow_hosts and principal.role_in(doc.id) != "installer":
                deny(request, principal, doc.id, "installer")
        existed = web.runtime.tenants.save(doc, replace=True, actor=principal.actor)
        if not existed and principal.kind == "user":
            web.accounts.grant(principal.id, doc.id, "installer")
        return Saved(doc.id, existed)


@get("/api/v1/me", permission="signed_in", sync_to_thread=True, tags=["tenants"])
def me(runtime: WebHost, principal: Principal) -> Me:
    """Who you are signed in as, and your role in each business you can see."""
    return Me(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        installer=principal.may_add_businesses,
        businesses=[Business(t.id, t.name, principal.role_in(t.id) or "") for t in visible_tenants(runtime, principal)],
    )
