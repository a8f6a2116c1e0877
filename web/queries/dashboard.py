"""The dashboard's figures for a date range, all aggregated in DuckDB, in the business's own time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from core.errors import InputError
from core.store.database import Store, utcnow
from web.queries.localtime import local_sql

MAX_DAYS = 366
DEFAULT_DAYS = 30


class DayCount(msgspec.Struct):
    day: date
    calls: int


class OutcomeCount(msgspec.Struct):
    outcome: str
    calls: int


class HourCount(msgspec.Struct):
    hour: int  # 0-23, local time
    calls: int


class Dashboard(msgspec.Struct, kw_only=True):
    start: date
    end: date  # inclusive
    timezone: str
    calls: int
    average_handle_s: float | None
    bookings: int
    calls_with_booking: int
    booking_conversion: float | None  # calls that led to a booking / calls
    leads: int
    per_day: list[DayCount]
    outcomes: list[OutcomeCount]
    busiest_hours: list[HourCount]


def default_range(timezone: str) -> tuple[date, date]:
    """The last ``DEFAULT_DAYS`` local days, today included."""
    today = utcnow().replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).date()
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def utc_bounds(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants at which local ``start`` begins and local ``end`` ends."""
    zone = ZoneInfo(timezone)
    first = datetime.combine(start, time(0), zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    last = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return first, last


def dashboard(store: Store, tenant_id: str, timezone: str, start: date, end: date) -> Dashboard:
    if end < start:
        raise InputError("the range ends before it starts")
    if (end - start).days >= MAX_DAYS:
        raise InputError(f"the range can be at most {MAX_DAYS} days")
    first, last = utc_bounds(start, end, timezone)
    local, local_params = local_sql("started_at", timezone, first, last)
    bounds = [tenant_id, first, last]
    # One scan of the calls for every figure (GROUPING SETS), one for bookings and leads.
    grouped = store.rows(
        f"WITH c AS (SELECT {local} AS local, coalesce(outcome, status) AS outcome, status, duration_s FROM calls "
        "WHERE tenant_id = ? AND started_at >= ? AND started_at < ?) "
        "SELECT CAST(local AS DATE) AS day, hour(local) AS h, outcome, count(*), "
        "sum(duration_s) FILTER (WHERE status <> 'active'), count(duration_s) FILTER (WHERE status <> 'active') "
        "FROM c GROUP BY GROUPING SETS ((day), (h), (outcome), ())",
        [*local_params, *bounds],
    )
    per_day, hours, outcomes = [], [], []
    totals: tuple[int, float | None] = (0, None)
    for day, hour, outcome, n, seconds, timed in grouped:
        if day is not None:
            per_day.append((day, n))
        elif hour is not None:
            hours.append((hour, n))
        elif outcome is not None:
            outcomes.append((outcome, n))
        else:
            totals = (n, seconds / timed if timed else None)
    outcomes.sort(key=lambda o: (-o[1], o[0]))
    booked = store.rows(
        "SELECT (SELECT count(*) FROM bookings WHERE tenant_id = ? AND created_at >= ? AND created_at < ?), "
        "(SELECT count(DISTINCT call_id) FROM bookings WHERE tenant_id = ? AND created_at >= ? AND created_at < ?), "
        "(SELECT count(*) FROM leads WHERE tenant_id = ? AND created_at >= ? AND created_at < ?)",
        bounds * 3,
    )[0]
    leads = booked[2]
    by_day = {d: int(n) for d, n in per_day}
    by_hour = {int(h): int(n) for h, n in hours}
    calls = int(totals[0])
    return Dashboard(
        start=start,
        end=end,
        timezone=timezone,
        calls=calls,
        average_handle_s=None if totals[1] is None else round(float(totals[1]), 1),
        bookings=int(booked[0]),
        calls_with_booking=int(booked[1]),
        booking_conversion=round(int(booked[1]) / calls, 4) if calls else None,
        leads=int(leads),
        per_day=[
            DayCount(start + timedelta(days=i), by_day.get(start + timedelta(days=i), 0))
            for i in range((end - start).days + 1)
        ],
        outcomes=[OutcomeCount(str(o), int(n)) for o, n in outcomes],
        busiest_hours=[HourCount(h, by_hour.get(h, 0)) for h in range(24)],
    )
