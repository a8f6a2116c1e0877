"""What every page gets: who is signed in, the businesses they can switch between, the navigation their role
allows, and the CSRF token for the forms and API calls on the page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response import Template

from web.api.tenants import visible_tenants
from web.auth.identity import principal_of
from web.auth.policy import Permission
from web.scope import TenantScope


@dataclass(frozen=True, slots=True)
class NavItem:
    key: str
    label: str
    path: str
    permission: Permission


NAV = (
    NavItem("dashboard", "Dashboard", "dashboard", Permission.DASHBOARD_READ),
    NavItem("calls", "Calls", "calls", Permission.CALLS_READ),
    NavItem("live", "Live", "live", Permission.CALLS_READ),
    NavItem("bookings", "Bookings", "bookings", Permission.BOOKINGS_READ),
    NavItem("leads", "Leads", "leads", Permission.LEADS_READ),
    NavItem("assistant", "Assistant", "assistant", Permission.ASSISTANT_READ),
    NavItem("test-call", "Test call", "test-call", Permission.CALLS_TEST),
    NavItem("tests", "Tests", "tests", Permission.CALLS_TEST),
    NavItem("knowledge", "Knowledge", "knowledge", Permission.KNOWLEDGE_READ),
    NavItem("settings", "Settings", "settings", Permission.SETTINGS_READ),
    NavItem("audit", "Audit log", "audit", Permission.AUDIT_READ),
)


def render(
    request: Request[Any, Any, Any],
    template: str,
    view: TenantScope | None = None,
    *,
    active: str = "",
    status_code: int = 200,
    **context: Any,
) -> Template:
    principal = principal_of(request)
    base: dict[str, Any] = {"principal": principal, "view": view, "active": active, "csrf": ""}
    if principal is not None:
        base["csrf"] = principal.csrf or ""
        base["businesses"] = visible_tenants(request.app.state.web.runtime, principal)
    if view is not None:
        base["tenant"] = view.tenant
        base["tz"] = view.tenant.timezone
        base["nav"] = [item for item in NAV if view.may(item.permission)]
        base["base"] = f"/t/{view.tenant_id}"
    return Template(template, context={**base, **context}, status_code=status_code)
