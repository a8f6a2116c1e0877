"""Local time in SQL by offset segments agrees with a time-zone lookup per row, across daylight-saving changes
and in zones whose offset is not a whole number of hours."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.store.database import Store
from web.queries.localtime import local_sql, offset_segments


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/Halifax", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham", "UTC"]
)
def test_local_time_matches_zoneinfo(zone: str) -> None:
    first, last = datetime(2025, 1, 1), datetime(2026, 1, 1)
    store = Store.memory()
    store.execute(
        "CREATE TABLE t AS SELECT TIMESTAMP '2025-01-01' + INTERVAL 37 MINUTE * i AS moment FROM range(?) r(i)",
        [365 * 24 * 60 // 37],
    )
    expr, params = local_sql("moment", zone, first, last)
    rows = store.rows(f"SELECT moment, {expr} FROM t ORDER BY moment", params)
    moments, got = [r[0] for r in rows], [r[1] for r in rows]
    want = [m.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None) for m in moments]
    assert got == want


def test_segments_find_each_change() -> None:
    segments = offset_segments("Australia/Sydney", datetime(2025, 1, 1), datetime(2026, 1, 1))
    # AEDT until April, AEST until October, AEDT again.
    assert [offset for _, offset in segments] == [39600, 36000, 39600]
    assert segments[0][0] == datetime(2025, 4, 5, 16, 0)  # 3 am local on 6 April becomes 2 am
