"""The dashboard's figures and the business's usage over the API."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Response, get

from web.api.paths import TENANT
from web.auth.policy import Permission
from web.queries.dashboard import Dashboard
from web.queries.usage import MonthUsage, usage_csv
from web.scope import TenantScope


class DashboardController(Controller):
    path = f"{TENANT}/dashboard"
    tags = ["dashboard"]

    @get("/", permission=Permission.DASHBOARD_READ, sync_to_thread=True)
    def get_dashboard(self, view: TenantScope, start: date | None = None, end: date | None = None) -> Dashboard:
        """Calls per day, outcomes, average handle time, booking conversion and busiest hours between two local
        dates (inclusive; default: the last 30 days)."""
        return view.dashboard(start, end)


class UsageController(Controller):
    path = f"{TENANT}/usage"
    tags = ["dashboard"]

    @get("/", permission=Permission.DASHBOARD_READ, sync_to_thread=True)
    def get_usage(self, view: TenantScope, months: int = 12) -> list[MonthUsage]:
        """Per local month, the last ``months`` (1-36, default 12) oldest first: calls, minutes, the LLM's tokens
        read and written (calls and their analyses), tool calls, SMS and email sent."""
        return view.usage(months)

    @get("/csv", permission=Permission.DASHBOARD_READ, sync_to_thread=True, media_type="text/csv")
    def get_usage_csv(self, view: TenantScope, months: int = 12) -> Response[str]:
        """The same as CSV, one row per month, for a reseller's billing."""
        name = f"usage-{view.tenant_id}.csv"
        return Response(
            usage_csv(view.usage(months)), headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
