"""A request's view of one business: the principal, their role there, and every query bound to the business.
Built only after ``web.auth.access`` has let the request through, from the ``{tenant_id}`` in its path."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Any

from litestar import Request

from core.calendars.base import Calendar
from core.calendars.factory import calendar_for
from core.store import audit
from core.tenants.document import TenantDocument
from core.tenants.numbers import calling_code
from web.auth.identity import principal_of
from web.auth.policy import Permission, Principal, Role
from web.context import WebContext
from web.erasure import Erased, forget_caller
from web.queries.calls import TenantCalls
from web.queries.dashboard import Dashboard, dashboard, default_range
from web.queries.usage import MonthUsage, usage
from web.queries.work import AuditEntry, TenantBookings, TenantLeads, audit_entries


class TenantScope:
    def __init__(self, web: WebContext, principal: Principal, tenant_id: str) -> None:
        self.web = web
        self.principal = principal
        self.tenant_id = tenant_id
        self.role: Role | None = principal.role_in(tenant_id)
        self.tenant: TenantDocument = web.runtime.tenants.get(tenant_id)  # NotFoundError → 404
        store = web.runtime.store
        self.calls = TenantCalls(store, web.runtime.calls, tenant_id, web.runtime.settings.recordings_path)
        self.bookings = TenantBookings(store, tenant_id)
        self.leads = TenantLeads(store, tenant_id)

    def may(self, permission: Permission | str) -> bool:
        return self.principal.may(Permission(permission), self.tenant_id)

    def audit(self, action: str, target: str, detail: Any = None) -> None:
        audit.record(
            self.web.runtime.store,
            tenant_id=self.tenant_id,
            actor=self.principal.actor,
            action=action,
            target=target,
            detail=detail,
        )

    def audit_log(self, before: str | None, limit: int) -> list[AuditEntry]:
        return audit_entries(self.web.runtime.store, self.tenant_id, before, limit)

    def forget_caller(self, number: str) -> Erased:
        """A data-subject request: everything the business holds about ``number`` (``web.erasure``)."""
        runtime = self.web.runtime
        return forget_caller(
            runtime.store,
            runtime.settings.recordings_path,
            self.tenant_id,
            number,
            calling_code(self.tenant),
            self.principal.actor,
        )

    @cached_property
    def calendar(self) -> Calendar:
        """The business's calendar: the built-in one, or its CalDAV calendar (signed in with the stored password)."""
        return calendar_for(self.web.runtime.tenants.with_secrets(self.tenant_id), self.web.runtime.store)

    def dashboard(self, start: date | None, end: date | None) -> Dashboard:
        """The dashboard between two local dates, inclusive (by default the days ``default_range`` gives)."""
        first, last = default_range(self.tenant.timezone)
        return dashboard(self.web.runtime.store, self.tenant_id, self.tenant.timezone, start or first, end or last)

    def usage(self, months: int = 12) -> list[MonthUsage]:
        """Usage per local month, the last ``months`` of them."""
        return usage(self.web.runtime.store, self.tenant_id, self.tenant.timezone, months)

    @cached_property
    def live(self) -> list[Any]:
        return self.web.runtime.live.of_tenant(self.tenant_id)


def provide_web(request: Request[Any, Any, Any]) -> WebContext:
    web: WebContext = request.app.state.web
    return web


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = principal_of(request)
    if principal is None:  # the access guard lets no such request through to a handler that asks for one
        raise RuntimeError("a handler asked for the principal on a public route")
    return principal


def provide_view(request: Request[Any, Any, Any], tenant_id: str) -> TenantScope:
    return TenantScope(request.app.state.web, provide_principal(request), tenant_id)
