"""The calendar a tenant chose."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from appliance.calendars.base import Calendar
from appliance.calendars.builtin import BuiltinCalendar
from appliance.calendars.caldav_calendar import CaldavCalendar
from appliance.store.database import Store
from appliance.tenants.document import TenantDocument


def calendar_for(tenant: TenantDocument, store: Store) -> Calendar:
    zone = ZoneInfo(tenant.timezone)
    if tenant.booking.calendar == "caldav" and tenant.booking.caldav is not None:
        return CaldavCalendar(tenant.booking.caldav, store, tenant.id, zone)
    return BuiltinCalendar(store, tenant.id, zone)
