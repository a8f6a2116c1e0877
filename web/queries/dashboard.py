"""The dashboard's figures for a date range, all aggregated in DuckDB, in the business's own time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from appliance.errors import InputError
from appliance.store.database import Store

MAX_DAYS = 366


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
    local = "timezone(?, timezone('UTC', started_at))"
    bounds = [tenant_id, first, last]
    totals = store.rows(
        "SELECT count(*), avg(duration_s) FILTER (WHERE status <> 'active') FROM calls "
        "WHERE tenant_id = ? AND started_at >= ? AND started_at < ?",
        bounds,
    )[0]
    per_day = store.rows(
        f"SELECT CAST({local} AS DATE) AS day, count(*) FROM calls "
        "WHERE tenant_id = ? AND started_at >= ? AND started_at < ? GROUP BY day ORDER BY day",
        [timezone, *bounds],
    )
    hours = store.rows(
        f"SELECT hour({local}) AS h, count(*) FROM calls "
        "WHERE tenant_id = ? AND started_at >= ? AND started_at < ? GROUP BY h ORDER BY h",
        [timezone, *bounds],
    )
    outcomes = store.rows(
        "SELECT coalesce(outcome, status), count(*) AS n FROM calls "
        "WHERE tenant_id = ? AND started_at >= ? AND started_at < ? GROUP BY 1 ORDER BY n DESC, 1",
        bounds,
    )
    booked = store.rows(
        "SELECT count(*), count(DISTINCT call_id) FROM bookings "
        "WHERE tenant_id = ? AND created_at >= ? AND created_at < ?",
        bounds,
    )[0]
    leads = store.scalar(
        "SELECT count(*) FROM leads WHERE tenant_id = ? AND created_at >= ? AND created_at < ?", bounds
    )
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
