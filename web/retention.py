"""Deleting what a business no longer wants kept: recordings past their days, then whole calls past theirs."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from core.store import audit
from core.store.database import Store, utcnow

log = logging.getLogger("appliance.web.retention")


def purge(store: Store, recordings: Path) -> dict[str, int]:
    """Apply every business's retention; returns how many recordings and calls were deleted."""
    totals = {"recordings": 0, "calls": 0}
    now = utcnow()
    for tenant_id, recordings_days, calls_days in store.rows(
        "SELECT tenant_id, recordings_days, calls_days FROM retention"
    ):
        cutoffs = []
        if recordings_days is not None:
            cutoffs.append(("recordings", now - timedelta(days=recordings_days)))
        if calls_days is not None:
            cutoffs.append(("calls", now - timedelta(days=calls_days)))
        for kind, cutoff in cutoffs:
            # Files go before rows: a row whose file is gone is harmless, a file no row points to is not.
            for (name,) in store.rows(
                "SELECT recording FROM calls WHERE tenant_id = ? AND started_at < ? AND recording IS NOT NULL "
                "AND status <> 'active'",
                [tenant_id, cutoff],
            ):
                path = (recordings / name).resolve()
                if path.is_relative_to(recordings.resolve()):
                    path.unlink(missing_ok=True)
            if kind == "recordings":
                count = int(
                    store.scalar(
                        "SELECT count(*) FROM calls WHERE tenant_id = ? AND started_at < ? AND recording IS NOT NULL "
                        "AND status <> 'active'",
                        [tenant_id, cutoff],
                    )
                )
                store.execute(
                    "UPDATE calls SET recording = NULL WHERE tenant_id = ? AND started_at < ? "
                    "AND recording IS NOT NULL AND status <> 'active'",
                    [tenant_id, cutoff],
                )
            else:
                old = "SELECT id FROM calls WHERE tenant_id = ? AND started_at < ? AND status <> 'active'"
                count = int(store.scalar(f"SELECT count(*) FROM ({old})", [tenant_id, cutoff]))
                with store.transaction():
                    for table in ("turns", "tool_calls"):
                        store.execute(
                            f"DELETE FROM {table} WHERE tenant_id = ? AND call_id IN ({old})",
                            [tenant_id, tenant_id, cutoff],
                        )
                    store.execute(
                        "DELETE FROM calls WHERE tenant_id = ? AND started_at < ? AND status <> 'active'",
                        [tenant_id, cutoff],
                    )
            if count:
                totals[kind] += count
                audit.record(
                    store,
                    tenant_id=tenant_id,
                    actor="retention",
                    action=f"retention.purge_{kind}",
                    target=tenant_id,
                    detail={"deleted": count, "older_than": cutoff.isoformat(timespec="seconds")},
                )
                log.info("retention: deleted %d %s of %s older than %s", count, kind, tenant_id, cutoff)
    return totals
