"""The dashboard's figures over the API."""

from __future__ import annotations

from datetime import date

from litestar import Controller, get

from web.api.paths import TENANT
from web.auth.policy import Permission
from web.queries.dashboard import Dashboard
from web.scope import TenantScope


class DashboardController(Controller):
    path = f"{TENANT}/dashboard"
    tags = ["dashboard"]

    @get("/", permission=Permission.DASHBOARD_READ, sync_to_thread=True)
    def get_dashboard(self, view: TenantScope, start: date | None = None, end: date | None = None) -> Dashboard:
        """Calls per day, outcomes, average handle time, booking conversion and busiest hours between two local
        dates (inclusive; default: the last 30 days)."""
        return view.dashboard(start, end)
