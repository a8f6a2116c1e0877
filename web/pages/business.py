"""A business's pages: dashboard, calls, a call, live calls, bookings, leads and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.response import Template

from core.errors import InputError
from web.auth.policy import Permission
from web.charts import Segment, bar_chart, hbar_chart, waterfall
from web.pages.layout import render
from web.queries.calls import SENTIMENTS, CallFilter
from web.scope import TenantScope
from web.store.golden import GoldenTests

T = "/t/{tenant_id:str}"


def _is_fragment(request: Request[Any, Any, Any]) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-boosted")


@get(f"{T}/dashboard", permission=Permission.DASHBOARD_READ, sync_to_thread=True, include_in_schema=False)
def dashboard_page(
    request: Request[Any, Any, Any], view: TenantScope, start: str | None = None, end: str | None = None
) -> Template:
    d = view.dashboard(_day(start), _day(end))
    per_day = [(day.day.strftime("%d %b"), day.calls) for day in d.per_day]
    charts = {
        "per_day": bar_chart(
            per_day, title="Calls per day", width=1000, height=220, label_every=max(1, len(per_day) // 10)
        ),
        "hours": bar_chart([(f"{h.hour:02d}", h.calls) for h in d.busiest_hours], title="Busiest hours", label_every=3),
        "outcomes": hbar_chart([(o.outcome, o.calls) for o in d.outcomes], title="Outcomes"),
    }
    template = "_dashboard.html" if _is_fragment(request) else "dashboard.html"
    return render(request, template, view, active="dashboard", d=d, charts=charts, usage=view.usage(6))


def _day(text: str | None) -> date | None:
    """A date from a form field; an empty field is no date."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"'{text}' is not a date (YYYY-MM-DD)") from None


def _local_start(day: date | None, timezone: str) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


@get(f"{T}/calls", permission=Permission.CALLS_READ, sync_to_thread=True, include_in_schema=False)
def calls_page(
    request: Request[Any, Any, Any],
    view: TenantScope,
    q: str | None = None,
    outcome: str | None = None,
    sentiment: str | None = None,
    start: str | None = None,
    end: str | None = None,
    before: str | None = None,
) -> Template:
    tz = view.tenant.timezone
    first, last = _day(start), _day(end)
    until = None if last is None else _local_start(last + timedelta(days=1), tz)
    page = view.calls.search(
        CallFilter(
            since=_local_start(first, tz),
            until=until,
            outcome=outcome or None,
            sentiment=sentiment or None,
            q=q,
            before=before,
        )
    )
    filters = {
        "q": q or "",
        "outcome": outcome or "",
        "sentiment": sentiment or "",
        "start": start or "",
        "end": end or "",
    }
    template = "_calls_table.html" if _is_fragment(request) else "calls.html"
    return render(
        request,
        template,
        view,
        active="calls",
        page=page,
        filters=filters,
        outcomes=view.calls.outcomes(),
        sentiments=SENTIMENTS,
    )


@get(f"{T}/calls/{{call_id:str}}", permission=Permission.CALLS_READ, sync_to_thread=True, include_in_schema=False)
def call_page(request: Request[Any, Any, Any], view: TenantScope, call_id: str) -> Template:
    detail = view.calls.get(call_id)
    waterfalls = {}
    for turn in detail.turns:
        lat = turn.latency_ms
        if turn.caller is None or lat.voice_to_voice is None:
            continue
        waterfalls[turn.idx] = waterfall(
            [
                Segment("endpoint", lat.endpoint),
                Segment("speech to text", lat.stt),
                Segment("LLM first token", lat.llm_first_token),
                Segment("TTS first audio", lat.tts_first_audio),
            ],
            Segment("voice to voice", lat.voice_to_voice),
        )
    return render(
        request,
        "call.html",
        view,
        active="calls",
        detail=detail,
        waterfalls=waterfalls,
        can_test=view.may(Permission.CALLS_TEST),
    )


@get(f"{T}/tests", permission=Permission.CALLS_TEST, sync_to_thread=True, include_in_schema=False)
def tests_page(request: Request[Any, Any, Any], view: TenantScope) -> Template:
    return render(
        request, "tests.html", view, active="tests", tests=GoldenTests(view.web.runtime.store).kept(view.tenant_id)
    )


@get(f"{T}/live", permission=Permission.CALLS_READ, sync_to_thread=True, include_in_schema=False)
def live_page(request: Request[Any, Any, Any], view: TenantScope) -> Template:
    return render(request, "live.html", view, active="live", can_control=view.may(Permission.CALLS_CONTROL))


@get(f"{T}/bookings", permission=Permission.BOOKINGS_READ, sync_to_thread=True, include_in_schema=False)
def bookings_page(request: Request[Any, Any, Any], view: TenantScope, status: str | None = None) -> Template:
    return render(
        request,
        "bookings.html",
        view,
        active="bookings",
        bookings=view.bookings.list(status=status or None),
        status=status or "",
        can_write=view.may(Permission.BOOKINGS_WRITE),
    )


@get(f"{T}/leads", permission=Permission.LEADS_READ, sync_to_thread=True, include_in_schema=False)
def leads_page(request: Request[Any, Any, Any], view: TenantScope, status: str | None = None) -> Template:
    return render(
        request,
        "leads.html",
        view,
        active="leads",
        leads=view.leads.list(status=status or None),
        status=status or "",
        can_write=view.may(Permission.LEADS_WRITE),
    )


@get(f"{T}/audit", permission=Permission.AUDIT_READ, sync_to_thread=True, include_in_schema=False)
def audit_page(request: Request[Any, Any, Any], view: TenantScope, before: str | None = None) -> Template:
    entries = view.audit_log(before, 100)
    return render(request, "audit.html", view, active="audit", entries=entries)
