"""A business's calls: the list with filters and search, one call with its turns, its recording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from core.errors import InputError
from core.records import CallAnalysis, CallRecord, TurnRecord
from core.store.calls import CallRepository
from core.store.database import Store, utcnow

PAGE = 50
SENTIMENTS = ("positive", "neutral", "negative")
_WINDOWS = (timedelta(days=2), timedelta(days=16), timedelta(days=128), None)


class CallRow(msgspec.Struct, kw_only=True):
    id: str
    started_at: datetime
    channel: str
    caller: str | None
    callee: str | None
    duration_s: float | None
    status: str
    outcome: str | None
    outcomes: list[str]  # the outcome first, then what else the call did
    end_reason: str | None
    sentiment: str | None
    tags: list[str]
    summary: str | None
    analysis_state: str | None  # "pending" until the post-call analysis has run
    sip: dict[str, Any]  # the phone line's side: Call-ID, From, To, codec, hangup cause, transfer (SIP calls)


class CallPage(msgspec.Struct, kw_only=True):
    calls: list[CallRow]
    next_before: str | None  # pass as ``before`` for the next (older) page


class CallFilter(msgspec.Struct, kw_only=True):
    since: datetime | None = None
    until: datetime | None = None
    outcome: str | None = None
    status: str | None = None
    sentiment: str | None = None  # the post-call analysis's: positive, neutral or negative
    q: str | None = None  # caller number or words in the transcript
    before: str | None = None  # a call id: only calls older than it
    limit: int = PAGE


class CallDetail(msgspec.Struct, kw_only=True):
    call: CallRecord
    turns: list[TurnRecord]
    has_recording: bool


def _utc(moment: datetime) -> datetime:
    """Stored times are naive UTC; a time with an offset is converted to it."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _row(r: dict[str, Any]) -> CallRow:
    meta = msgspec.json.decode(r.pop("meta")) if r.get("meta") else {}
    analysis = msgspec.json.decode(r.pop("analysis"), type=CallAnalysis) if r.get("analysis") else None
    r.pop("analysis", None)
    tags = meta.get("tags") or []
    return CallRow(
        **{**r, "outcomes": r.get("outcomes") or []},
        sentiment=analysis.sentiment if analysis else None,
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        summary=analysis.summary if analysis else None,
        sip=meta.get("sip") or {},
    )


class TenantCalls:
    def __init__(self, store: Store, calls: CallRepository, tenant_id: str, recordings: Path) -> None:
        self._store = store
        self._calls = calls
        self._tenant = tenant_id
        self._recordings = recordings

    def search(self, f: CallFilter) -> CallPage:
        if not 1 <= f.limit <= 500:
            raise InputError("limit must be 1 to 500")
        where = ["c.tenant_id = ?"]
        params: list[Any] = [self._tenant]
        if f.since is not None:
            where.append("c.started_at >= ?")
            params.append(_utc(f.since))
        if f.until is not None:
            where.append("c.started_at < ?")
            params.append(_utc(f.until))
        if f.outcome:  # the call's outcome or one of its secondary ones
            where.append("(c.outcome = ? OR list_contains(c.outcomes, ?))")
            params += [f.outcome, f.outcome]
        if f.status:
            where.append("c.status = ?")
            params.append(f.status)
        if f.sentiment:
            if f.sentiment not in SENTIMENTS:
                raise InputError(f"sentiment must be one of {', '.join(SENTIMENTS)}")
            where.append("json_extract_string(c.analysis, '$.sentiment') = ?")
            params.append(f.sentiment)
        anchor = None
        if f.before:
            anchor = self._store.scalar(
                "SELECT started_at FROM calls WHERE id = ? AND tenant_id = ?", [f.before, self._tenant]
            )
            if anchor is None:
                raise InputError(f"before: no call '{f.before}'")
            where.append("(c.started_at < ? OR (c.started_at = ? AND c.id < ?))")
            params += [anchor, anchor, f.before]
        if f.q and f.q.strip():
            words = f"%{f.q.strip()}%"
            where.append(
                "(c.caller ILIKE ? OR c.id = ? OR EXISTS (SELECT 1 FROM turns t WHERE t.tenant_id = c.tenant_id "
                "AND t.call_id = c.id AND (t.caller_text ILIKE ? OR t.reply_text ILIKE ?)))"
            )
            params += [words, f.q.strip(), words, words]
        # Newest first, looked for in widening windows back from the newest call wanted: a page is usually found
        # among the last days' calls without sorting a business's whole history.
        newest = anchor or (_utc(f.until) if f.until is not None else None) or utcnow()
        oldest = _utc(f.since) if f.since is not None else None
        for window in _WINDOWS:
            lower = None if window is None else newest - window
            bounded = lower is not None and (oldest is None or lower > oldest)
            rows = self._store.dicts(
                "SELECT c.id, c.started_at, c.channel, c.caller, c.callee, c.duration_s, c.status, c.outcome, "
                "c.outcomes, c.end_reason, c.meta, c.analysis_state, c.analysis "
                f"FROM calls c WHERE {' AND '.join(where)}{' AND c.started_at >= ?' if bounded else ''} "
                "ORDER BY c.started_at DESC, c.id DESC LIMIT ?",
                [*params, *([lower] if bounded else []), f.limit + 1],
            )
            if len(rows) > f.limit or not bounded:
                break
        more = len(rows) > f.limit
        calls = [_row(r) for r in rows[: f.limit]]
        return CallPage(calls=calls, next_before=calls[-1].id if more and calls else None)

    def outcomes(self) -> list[str]:
        rows = self._store.rows(
            "SELECT DISTINCT o FROM (SELECT unnest(coalesce(outcomes, [outcome])) AS o FROM calls WHERE tenant_id = ?) "
            "WHERE o IS NOT NULL ORDER BY 1",
            [self._tenant],
        )
        return [r[0] for r in rows]

    def get(self, call_id: str) -> CallDetail:
        call = self._calls.get(call_id, self._tenant)
        return CallDetail(
            call=call, turns=self._calls.turns(call_id), has_recording=self.recording(call_id) is not None
        )

    def recording(self, call_id: str) -> Path | None:
        """The call's recording, if it has one that is still kept. Only paths under the recordings folder."""
        name = self._store.scalar("SELECT recording FROM calls WHERE id = ? AND tenant_id = ?", [call_id, self._tenant])
        if not name:
            return None
        path: Path = (self._recordings / str(name)).resolve()
        if not path.is_relative_to(self._recordings.resolve()) or not path.is_file():
            return None
        return path
