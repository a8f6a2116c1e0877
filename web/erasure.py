"""A data-subject request: everything a business holds about one caller's phone number, deleted at once.

The number is matched in every form it may have been written in (``core.tenants.numbers.forms``: as given,
international with and without +, national with its 0), spaces, dashes and brackets ignored on both sides.
What goes: the caller's calls with their turns, tool calls and recording files; bookings, leads and messages
under the number or made in those calls; tests kept from those calls; notifications sent to the number, about
those calls, or whose text names the number; and the number in audit rows about the caller (the row stays,
without it). The audit log then gets one ``caller.erase`` row with the counts and the number's last three
digits, never the number.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import msgspec

from core.errors import ApplianceError, InputError
from core.store import audit
from core.store.database import Store
from core.tenants.document import normalise_number
from core.tenants.numbers import forms
from web.retention import CALLER_AUDIT, ERASED, delete_recordings

log = logging.getLogger("appliance.web.erasure")

_PHONE = re.compile(r"\+?[0-9]{6,15}")
# A number written out in text, with the spaces, dashes and brackets people put in.
_NUMBER_TEXT = r"\+?[0-9][0-9 ().\-]{4,}[0-9]{3}"


class Erased(msgspec.Struct, kw_only=True):
    """How many of each were deleted (audit rows: had the number taken out)."""

    calls: int
    recordings: int
    bookings: int
    leads: int
    messages: int
    notifications: int
    audit: int
    tests: int = 0  # golden conversations kept from the caller's calls


def _clean(column: str) -> str:
    return f"regexp_replace(coalesce(CAST({column} AS VARCHAR), ''), '[\\s\\-().]', '', 'g')"


def forget_caller(store: Store, recordings: Path, tenant_id: str, number: str, code: str | None, actor: str) -> Erased:
    """Delete what ``tenant_id`` holds about ``number`` (read in the country whose calling code is ``code``)."""
    given = normalise_number(number)
    if not _PHONE.fullmatch(given):
        raise InputError(f"'{number}' is not a phone number (digits, optionally with a leading +)")
    variants = forms(given, code)
    marks = ", ".join("?" for _ in variants)
    calls = f"tenant_id = ? AND {_clean('caller')} IN ({marks})"
    at_calls: list[object] = [tenant_id, *variants]
    if store.scalar(f"SELECT count(*) FROM calls WHERE status = 'active' AND {calls}", at_calls):
        raise ApplianceError("a call from this number is in progress; ask again when it has ended")
    their_calls = f"SELECT id FROM calls WHERE {calls}"
    # Text that names the number: only its longer forms, so a short national form cannot match other digits.
    long_forms = [v for v in variants if len(v.lstrip("+")) >= 8] or [given]
    names_it = " OR ".join(f"{_clean('body')} LIKE ?" for _ in long_forms)
    named: list[object] = [f"%{v}%" for v in long_forms]

    def owned(phone_column: str) -> tuple[str, list[object]]:
        where = f"tenant_id = ? AND ({_clean(phone_column)} IN ({marks}) OR call_id IN ({their_calls}))"
        return where, [tenant_id, *variants, *at_calls]

    targets = {
        "bookings": owned("customer_phone"),
        "leads": owned("phone"),
        "messages": owned("phone"),
        "notifications": (
            f"tenant_id = ? AND ({_clean('target')} IN ({marks}) OR call_id IN ({their_calls}) OR {names_it})",
            [tenant_id, *variants, *at_calls, *named],
        ),
    }
    audit_where = (
        f"tenant_id = ? AND action IN {CALLER_AUDIT!r} AND ({_clean('target')} IN ({marks}) "
        f"OR target IN ({their_calls}) OR json_extract_string(detail, '$.call_id') IN ({their_calls}))"
    )
    audit_params: list[object] = [tenant_id, *variants, *at_calls, *at_calls]

    counts: dict[str, int] = {}
    counts["recordings"] = int(
        store.scalar(f"SELECT count(*) FROM calls WHERE recording IS NOT NULL AND {calls}", at_calls)
    )
    delete_recordings(store, recordings, calls, at_calls)
    with store.transaction():
        for table, (where, params) in targets.items():
            counts[table] = int(store.scalar(f"SELECT count(*) FROM {table} WHERE {where}", params))
            store.execute(f"DELETE FROM {table} WHERE {where}", params)
        counts["audit"] = int(store.scalar(f"SELECT count(*) FROM audit_log WHERE {audit_where}", audit_params))
        store.execute(
            f"UPDATE audit_log SET detail = NULL, target = CASE WHEN action = 'sms.refused' THEN '{ERASED}' "
            f"ELSE target END WHERE {audit_where}",
            audit_params,
        )
        # Any other row that names the number (staff's refused attempt at this very request: its path) keeps
        # what happened, with the number masked.
        in_detail = " OR ".join(f"{_clean('detail')} LIKE ?" for _ in long_forms)
        names_it_too = " OR ".join(f"{_clean('target')} LIKE ? OR {_clean('detail')} LIKE ?" for _ in long_forms)
        mentions = f"tenant_id = ? AND ({names_it_too})"
        mention_params: list[object] = [tenant_id, *[p for v in named for p in (v, v)]]
        counts["audit"] += int(store.scalar(f"SELECT count(*) FROM audit_log WHERE {mentions}", mention_params))
        store.execute(
            f"UPDATE audit_log SET target = regexp_replace(target, '{_NUMBER_TEXT}', '***', 'g'), "
            f"detail = CASE WHEN {in_detail} THEN NULL "
            f"ELSE detail END WHERE {mentions}",
            [*named, *mention_params],
        )
        tests, at_tests = owned("caller")
        counts["tests"] = int(store.scalar(f"SELECT count(*) FROM golden_tests WHERE {tests}", at_tests))
        store.execute(f"DELETE FROM golden_tests WHERE {tests}", at_tests)
        counts["calls"] = int(store.scalar(f"SELECT count(*) FROM calls WHERE {calls}", at_calls))
        for table in ("turns", "tool_calls"):
            store.execute(
                f"DELETE FROM {table} WHERE tenant_id = ? AND call_id IN ({their_calls})", [tenant_id, *at_calls]
            )
        store.execute(f"DELETE FROM calls WHERE {calls}", at_calls)
        erased = Erased(**counts)
        audit.record(
            store,
            tenant_id=tenant_id,
            actor=actor,
            action="caller.erase",
            target=f"***{given[-3:]}",
            detail=msgspec.to_builtins(erased),
        )
    log.info(
        "erased everything about caller ***%s for %s at the request of %s: %s",
        given[-3:], tenant_id, actor, msgspec.to_builtins(erased),
    )  # fmt: skip
    return erased
