"""Local wall-clock times: shared by the dialogue (times a caller says) and the calendars (slots)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def localize(naive: datetime, zone: ZoneInfo) -> datetime:
    """Attach ``zone`` to a local wall-clock time, moving a time that does not exist (skipped by a change to
    daylight saving) forward by the gap, as clocks do."""
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if round_trip.replace(tzinfo=None) != naive:
        return round_trip
    return aware
