"""The calendar a tenant chose."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from core.calendars.base import Calendar
from core.calendars.builtin import BuiltinCalendar
from core.calendars.caldav_calendar import CaldavCalendar
from core.store.database import Store
from core.tenants.document import TenantDocument


def calendar_for(tenant: TenantDocument, store: Store) -> Calendar:
    zone = ZoneInfo(tenant.timezone)
    if tenant.booking.calendar == "caldav" and tenant.booking.caldav is not None:
        return CaldavCalendar(tenant.booking.caldav, store, tenant.id, zone, tenant.allow_hosts)
    return BuiltinCalendar(store, tenant.id, zone)
