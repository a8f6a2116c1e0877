"""The dashboard's figures over the API."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from litestar import Controller, get

from core.store.database import utcnow
from web.api.paths import TENANT
from web.auth.policy import Permission
from web.queries.dashboard import Dashboard, dashboard
from web.scope import TenantScope

DEFAULT_DAYS = 30


def default_range(timezone: str) -> tuple[date, date]:
    today = utcnow().replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).date()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def dashboard_for(view: TenantScope, start: date | None, end: date | None) -> Dashboard:
    first, last = default_range(view.tenant.timezone)
    return dashboard(view.web.runtime.store, view.tenant_id, view.tenant.timezone, start or first, end or last)


class DashboardController(Controller):
    path = f"{TENANT}/dashboard"
    tags = ["dashboard"]

    @get("/", permission=Permission.DASHBOARD_READ, sync_to_thread=True)
    def get_dashboard(self, view: TenantScope, start: date | None = None, end: date | None = None) -> Dashboard:
        """Calls per day, outcomes, average handle time, booking conversion and busiest hours between two local
        dates (inclusive; default: the last 30 days)."""
        return dashboard_for(view, start, end)
