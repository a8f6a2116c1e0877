"""Caller time expressions, resolved in the business's zone, including across daylight-saving changes."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from core.dialogue.when import When, parse_when

SYDNEY = ZoneInfo("Australia/Sydney")
# A Wednesday afternoon.
NOW = datetime(2026, 3, 11, 14, 20, tzinfo=SYDNEY)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("tomorrow at 3pm", When(date(2026, 3, 12), time(15), time(15))),
        ("tomorrow at 3 p.m.", When(date(2026, 3, 12), time(15), time(15))),
        ("next Tuesday at half past three", When(date(2026, 3, 17), time(15, 30), time(15, 30))),
        ("this arvo", When(date(2026, 3, 11), time(12), time(17))),
        ("Friday morning", When(date(2026, 3, 13), time(8), time(12))),
        ("on Wednesday", When(date(2026, 3, 18), None, None)),
        ("the 20th at quarter to ten", When(date(2026, 3, 20), time(9, 45), time(9, 45))),
        ("14th of April around 11", When(date(2026, 4, 14), time(11), time(11))),
        ("March 2nd at 10:15", When(date(2027, 3, 2), time(10, 15), time(10, 15))),
        ("in three days after 2", When(date(2026, 3, 14), time(14), time(21))),
        ("day after tomorrow at noon", When(date(2026, 3, 13), time(12), time(12))),
        ("at 9", When(date(2026, 3, 12), time(9), time(9))),  # 9 am has passed today
        ("15:45", When(date(2026, 3, 11), time(15, 45), time(15, 45))),
    ],
)
def test_expressions(said: str, expected: When) -> None:
    assert parse_when(said, NOW) == expected


def test_nothing_about_time() -> None:
    assert parse_when("my tap is leaking", NOW) is None


def test_opening_hours_decide_morning_or_evening() -> None:
    # A bakery open 5 am to 1 pm: "at 6" is the morning.
    def bakery(_day: date, t: time) -> bool:
        return time(5) <= t < time(13)

    assert parse_when("tomorrow at 6", NOW, bakery) == When(date(2026, 3, 12), time(6), time(6))
    assert parse_when("tomorrow at 6", NOW) == When(date(2026, 3, 12), time(18), time(18))


def test_tomorrow_at_3pm_the_day_before_daylight_saving_starts() -> None:
    # Sydney moves from +10:00 to +11:00 at 2 am on Sunday 4 October 2026.
    saturday = datetime(2026, 10, 3, 16, 0, tzinfo=SYDNEY)
    when = parse_when("tomorrow at 3pm", saturday)
    assert when is not None
    instant = when.at(SYDNEY)
    assert instant is not None
    assert instant.astimezone(UTC) == datetime(2026, 10, 4, 4, 0, tzinfo=UTC)
    # The naive way, 24 hours after 3 pm today (05:00 UTC), would be an hour late.
    assert datetime(2026, 10, 3, 15, 0, tzinfo=SYDNEY).astimezone(UTC) == datetime(2026, 10, 3, 5, 0, tzinfo=UTC)


def test_a_time_skipped_by_the_change_moves_forward() -> None:
    saturday = datetime(2026, 10, 3, 16, 0, tzinfo=SYDNEY)
    when = parse_when("tomorrow at 2:30 am", saturday)
    assert when is not None
    instant = when.at(SYDNEY)
    assert instant is not None and instant.astimezone(UTC) == datetime(2026, 10, 3, 16, 30, tzinfo=UTC)
