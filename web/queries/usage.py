"""A business's usage per month, in its own time zone: what a reseller bills by."""

from __future__ import annotations

import csv
import io
from datetime import date
from zoneinfo import ZoneInfo

import msgspec

from core.errors import InputError
from core.store.database import Store, utcnow
from web.queries.dashboard import utc_bounds
from web.queries.localtime import local_sql

MAX_MONTHS = 36


class MonthUsage(msgspec.Struct, kw_only=True):
    month: str  # "2026-12", local
    calls: int
    minutes: float  # of calls that ended, to a tenth
    llm_tokens_in: int  # every prompt token the LLM read for the calls and their analyses, cached or not
    llm_tokens_out: int
    tool_calls: int
    sms_sent: int  # to callers and to the owner
    emails_sent: int


def _month_start(day: date, back: int) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def usage(store: Store, tenant_id: str, timezone: str, months: int = 12) -> list[MonthUsage]:
    """The last ``months`` local months, this one included, oldest first."""
    if not 1 <= months <= MAX_MONTHS:
        raise InputError(f"months must be 1 to {MAX_MONTHS}")
    today = utcnow().replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).date()
    first, last = utc_bounds(_month_start(today, months - 1), today, timezone)
    found: dict[str, dict[str, float]] = {}
    for column, table, where, figures in (
        ("started_at", "calls", "", "count(*), sum(duration_s) / 60, sum(llm_tokens_in), sum(llm_tokens_out)"),
        ("created_at", "tool_calls", "", "count(*)"),
        ("sent_at", "notifications", "AND status = 'sent'", "count(*) FILTER (WHERE channel = 'sms'), "
                                                             "count(*) FILTER (WHERE channel = 'email')"),
    ):  # fmt: skip
        local, params = local_sql(column, timezone, first, last)
        rows = store.rows(
            f"SELECT strftime({local}, '%Y-%m') AS month, {figures} FROM {table} "
            f"WHERE tenant_id = ? AND {column} >= ? AND {column} < ? {where} GROUP BY month",
            [*params, tenant_id, first, last],
        )
        names = {
            "calls": ("calls", "minutes", "llm_tokens_in", "llm_tokens_out"),
            "tool_calls": ("tool_calls",),
            "notifications": ("sms_sent", "emails_sent"),
        }[table]
        for month, *values in rows:
            found.setdefault(month, {}).update(zip(names, (v or 0 for v in values), strict=True))
    result = []
    for back in range(months - 1, -1, -1):
        month = _month_start(today, back).strftime("%Y-%m")
        got = found.get(month, {})
        result.append(
            MonthUsage(
                month=month,
                calls=int(got.get("calls", 0)),
                minutes=round(float(got.get("minutes", 0.0)), 1),
                llm_tokens_in=int(got.get("llm_tokens_in", 0)),
                llm_tokens_out=int(got.get("llm_tokens_out", 0)),
                tool_calls=int(got.get("tool_calls", 0)),
                sms_sent=int(got.get("sms_sent", 0)),
                emails_sent=int(got.get("emails_sent", 0)),
            )
        )
    return result


def usage_csv(rows: list[MonthUsage]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = list(MonthUsage.__struct_fields__)
    writer.writerow(fields)
    for row in rows:
        writer.writerow([getattr(row, f) for f in fields])
    return out.getvalue()
