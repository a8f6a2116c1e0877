"""Deleting what a business no longer wants kept: recordings past their days, then calls past theirs with
everything else that holds a caller's data from that time.

What goes when a call's days are over (``calls_days``), and what stays for the business's accounts:

- calls, their turns and tool calls, and their recordings (files first): deleted;
- tool calls made outside a call (a simulation's, a test's): deleted by their own date;
- leads and messages: deleted;
- notifications (the SMS and email bodies sent to callers and staff) once sent or given up: deleted; one still
  being sent waits for its last attempt;
- bookings whose appointment ended before the cutoff: kept with their service, times and status (what was
  booked and done, for the accounts) but without the caller's name, number, notes and reference; a booking
  still to come is never touched;
- audit rows about a caller (an SMS refused to their number, a transfer they asked for): kept without the
  number or detail; staff's own actions stay as they are;
- daily usage (counts and seconds, no caller data): kept.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from core.store import audit
from core.store.database import Store, utcnow

log = logging.getLogger("appliance.web.retention")

# Audit actions whose target or detail names a caller's number or what they asked for.
CALLER_AUDIT = ("sms.refused", "call.transfer_refused")
ERASED = "(erased)"


def purge(store: Store, recordings: Path) -> dict[str, int]:
    """Apply every business's retention; returns how many of each kind were deleted or anonymised."""
    totals = dict.fromkeys(("recordings", "calls", "bookings", "leads", "messages", "notifications", "audit"), 0)
    now = utcnow()
    for tenant_id, recordings_days, calls_days in store.rows(
        "SELECT tenant_id, recordings_days, calls_days FROM retention"
    ):
        if recordings_days is not None:
            cutoff = now - timedelta(days=recordings_days)
            _report(store, tenant_id, {"recordings": _recordings(store, recordings, tenant_id, cutoff)}, cutoff, totals)
        if calls_days is not None:
            cutoff = now - timedelta(days=calls_days)
            counts = {
                "calls": _calls(store, recordings, tenant_id, cutoff),
                **_caller_records(store, tenant_id, cutoff),
            }
            _report(store, tenant_id, counts, cutoff, totals)
    return totals


def _report(store: Store, tenant_id: str, counts: dict[str, int], cutoff: datetime, totals: dict[str, int]) -> None:
    for kind, count in counts.items():
        if not count:
            continue
        totals[kind] += count
        audit.record(
            store,
            tenant_id=tenant_id,
            actor="retention",
            action=f"retention.purge_{kind}",
            target=tenant_id,
            detail={"deleted": count, "older_than": cutoff.isoformat(timespec="seconds")},
        )
        log.info("retention: deleted or anonymised %d %s of %s older than %s", count, kind, tenant_id, cutoff)


def delete_recordings(store: Store, recordings: Path, where: str, params: list[object]) -> None:
    """Delete the recording files of the calls ``where`` selects (a condition on ``calls``). Files go before
    rows: a row whose file is gone is harmless, a file no row points to is not."""
    root = recordings.resolve()
    for (name,) in store.rows(f"SELECT recording FROM calls WHERE recording IS NOT NULL AND {where}", params):
        path = (recordings / name).resolve()
        if path.is_relative_to(root):
            path.unlink(missing_ok=True)


_OLD_CALLS = "tenant_id = ? AND started_at < ? AND status <> 'active'"


def _recordings(store: Store, recordings: Path, tenant_id: str, cutoff: datetime) -> int:
    params: list[object] = [tenant_id, cutoff]
    delete_recordings(store, recordings, _OLD_CALLS, params)
    count = int(store.scalar(f"SELECT count(*) FROM calls WHERE recording IS NOT NULL AND {_OLD_CALLS}", params))
    store.execute(f"UPDATE calls SET recording = NULL WHERE recording IS NOT NULL AND {_OLD_CALLS}", params)
    return count


def _calls(store: Store, recordings: Path, tenant_id: str, cutoff: datetime) -> int:
    params: list[object] = [tenant_id, cutoff]
    delete_recordings(store, recordings, _OLD_CALLS, params)
    old = f"SELECT id FROM calls WHERE {_OLD_CALLS}"
    count = int(store.scalar(f"SELECT count(*) FROM ({old})", params))
    with store.transaction():
        for table in ("turns", "tool_calls"):
            store.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND call_id IN ({old})", [tenant_id, *params])
        store.execute(f"DELETE FROM calls WHERE {_OLD_CALLS}", params)
    return count


def _caller_records(store: Store, tenant_id: str, cutoff: datetime) -> dict[str, int]:
    """Everything else that holds a caller's data from before ``cutoff`` (see the module's list)."""
    steps: dict[str, tuple[str, str]] = {
        "leads": ("SELECT count(*) FROM leads WHERE {w}", "DELETE FROM leads WHERE {w}"),
        "messages": ("SELECT count(*) FROM messages WHERE {w}", "DELETE FROM messages WHERE {w}"),
        "notifications": (
            "SELECT count(*) FROM notifications WHERE status IN ('sent', 'failed') AND {w}",
            "DELETE FROM notifications WHERE status IN ('sent', 'failed') AND {w}",
        ),
        "bookings": (
            "SELECT count(*) FROM bookings WHERE ends_at < ? AND customer_phone <> '' AND {w}",
            "UPDATE bookings SET customer_name = '', customer_phone = '', notes = NULL, reference = NULL, "
            "call_id = NULL WHERE ends_at < ? AND customer_phone <> '' AND {w}",
        ),
    }
    where = "tenant_id = ? AND created_at < ?"
    counts: dict[str, int] = {}
    with store.transaction():
        store.execute(f"DELETE FROM tool_calls WHERE {where}", [tenant_id, cutoff])
        for kind, (count_sql, change_sql) in steps.items():
            params: list[object] = [cutoff, tenant_id, cutoff] if kind == "bookings" else [tenant_id, cutoff]
            counts[kind] = int(store.scalar(count_sql.format(w=where), params))
            store.execute(change_sql.format(w=where), params)
        audit_where = (
            f"tenant_id = ? AND occurred_at < ? AND action IN {CALLER_AUDIT!r} "
            f"AND (target <> '{ERASED}' OR detail IS NOT NULL)"
        )
        counts["audit"] = int(store.scalar(f"SELECT count(*) FROM audit_log WHERE {audit_where}", [tenant_id, cutoff]))
        store.execute(
            f"UPDATE audit_log SET detail = NULL, target = CASE WHEN action = 'sms.refused' THEN '{ERASED}' "
            f"ELSE target END WHERE {audit_where}",
            [tenant_id, cutoff],
        )
    return counts
