"""What a caller means by "tomorrow at half three", "next Tuesday morning" or "this arvo", in the business's
time zone.

The result is a day and either an exact local time or a window of the day. Local times become instants with
zoneinfo, so a day that changes to or from daylight saving gets its own offset (the naive way, adding 24 hours
to now, is an hour off across the change).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.clock import localize

_WEEKDAYS = {
    name: i
    for i, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}
_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        )
    )
    for name in names
}
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_MINUTE_WORDS = {"fifteen": 15, "thirty": 30, "forty five": 45, "forty-five": 45, "oh five": 5, "ten": 10}
# Parts of the day: (start, end) local times.
_PARTS = {
    "morning": (time(8), time(12)),
    "first thing": (time(7), time(10)),
    "lunchtime": (time(12), time(14)),
    "lunch": (time(12), time(14)),
    "afternoon": (time(12), time(17)),
    "arvo": (time(12), time(17)),
    "evening": (time(17), time(21)),
    "tonight": (time(17), time(22)),
}
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"


@dataclass(frozen=True, slots=True)
class When:
    """A day, and an exact time or a window of it (``start == end`` for an exact time)."""

    day: date
    start: time | None
    end: time | None

    @property
    def exact(self) -> bool:
        return self.start is not None and self.start == self.end

    def at(self, zone: ZoneInfo) -> datetime | None:
        """The exact time as an aware datetime in ``zone``; None for a window or a day alone."""
        if not self.exact or self.start is None:
            return None
        return localize(datetime.combine(self.day, self.start), zone)


OpenAt = Callable[[date, time], bool]


def parse_when(text: str, now: datetime, open_at: OpenAt | None = None) -> When | None:
    """``now`` is aware, in the business's zone. ``open_at`` tells whether the business is open at a local time;
    it decides whether a bare "at 8" means the morning or the evening. None when the text names no day and no
    time."""
    words = _normalise(text)
    day = _day(words, now.date())
    start, end = _time(words)
    if day is None and start is None:
        return None
    if day is None:
        day = now.date()
        if start is not None and end is not None and datetime.combine(day, end) <= now.replace(tzinfo=None):
            day += timedelta(days=1)  # "at 9" said at 10 am means tomorrow
    if start is not None and start == end and _AMBIGUOUS in _meridiem_of(words):
        start = end = _disambiguate(day, start, open_at)
    return When(day, start, end)


_AMBIGUOUS = "?"


def _meridiem_of(words: str) -> str:
    """'?' when the time was said without am/pm or a 24-hour clock, so it could be morning or evening."""
    if re.search(r"\b(am|pm|noon|midday)\b", words) or re.search(r"\b(1[3-9]|2[0-3]):\d{2}\b", words):
        return ""
    return _AMBIGUOUS


def _disambiguate(day: date, said: time, open_at: OpenAt | None) -> time:
    if said.hour >= 12 or said.hour == 0:
        return said
    morning, evening = said, time(said.hour + 12, said.minute)
    if open_at is not None:
        candidates = [t for t in (morning, evening) if open_at(day, t)]
        if len(candidates) == 1:
            return candidates[0]
    # Without opening hours to go by, a bare 1 to 6 is the afternoon, 7 to 11 the morning.
    return evening if 1 <= said.hour <= 6 else morning


def _normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"\b(\d{1,2})\.(\d{2})\b", r"\1:\2", text)  # 3.30 -> 3:30
    text = re.sub(r"\b(a\.m\.|a\.m|am)\b", " am", text)
    text = re.sub(r"\b(p\.m\.|p\.m|pm)\b", " pm", text)
    text = re.sub(r"(\d)\s*(am|pm)\b", r"\1 \2", text)
    return re.sub(r"[^\w:' ]+", " ", text)


def _day(words: str, today: date) -> date | None:
    if re.search(r"\bday after tomorrow\b", words):
        return today + timedelta(days=2)
    if re.search(r"\b(tomorrow|tmrw|tomorow)\b", words):
        return today + timedelta(days=1)
    if re.search(r"\b(today|tonight|this (morning|afternoon|arvo|evening))\b", words):
        return today
    if match := re.search(r"\bin (\w+) days?\b", words):
        count = _NUMBERS.get(match.group(1)) or (int(match.group(1)) if match.group(1).isdigit() else None)
        if count:
            return today + timedelta(days=count)
    if match := re.search(r"\b(next|this|on|coming)?\s*(" + "|".join(_WEEKDAYS) + r")\b", words):
        target = _WEEKDAYS[match.group(2)]
        ahead = (target - today.weekday()) % 7
        if match.group(1) == "next" and ahead == 0:
            ahead = 7
        if ahead == 0 and match.group(1) != "this":
            ahead = 7  # "on Tuesday" said on a Tuesday means the next one
        return today + timedelta(days=ahead)
    if match := re.search(r"\b" + _ORDINAL + r"(?: of)? (" + "|".join(_MONTHS) + r")\b", words):
        return _next_date(today, _MONTHS[match.group(2)], int(match.group(1)))
    if match := re.search(r"\b(" + "|".join(_MONTHS) + r") (?:the )?" + _ORDINAL + r"\b", words):
        return _next_date(today, _MONTHS[match.group(1)], int(match.group(2)))
    if match := re.search(r"\bthe " + _ORDINAL + r"\b", words):
        day_of_month = int(match.group(1))
        month = today.month if day_of_month >= today.day else today.month % 12 + 1
        return _next_date(today, month, day_of_month)
    return None


def _next_date(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _time(words: str) -> tuple[time | None, time | None]:
    exact = _clock(words)
    if exact is not None:
        return exact, exact
    for name, (start, end) in _PARTS.items():
        if re.search(rf"\b{name}\b", words):
            return start, end
    if match := re.search(r"\b(after|from) (\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b", words):
        after = _hour(_afternoon(int(match.group(2)), match.group(4)), int(match.group(3) or 0), match.group(4))
        return (after, time(21)) if after else (None, None)
    if match := re.search(r"\bbefore (\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b", words):
        before = _hour(_afternoon(int(match.group(1)), match.group(3)), int(match.group(2) or 0), match.group(3))
        return (time(7), before) if before else (None, None)
    return None, None


def _clock(words: str) -> time | None:
    if re.search(r"\b(noon|midday)\b", words):
        return time(12)
    number = r"(\d{1,2}|" + "|".join(_NUMBERS) + ")"
    if match := re.search(rf"\bhalf (?:past )?{number}\b(?:\s*(am|pm))?", words):
        return _hour(_to_int(match.group(1)), 30, match.group(2))
    if match := re.search(rf"\bquarter past {number}\b(?:\s*(am|pm))?", words):
        return _hour(_to_int(match.group(1)), 15, match.group(2))
    if match := re.search(rf"\bquarter to {number}\b(?:\s*(am|pm))?", words):
        hour = _to_int(match.group(1)) - 1
        return _hour(hour or 12, 45, match.group(2))
    if match := re.search(r"\b(\d{1,2}):(\d{2})\s*(am|pm)?\b", words):
        return _hour(int(match.group(1)), int(match.group(2)), match.group(3))
    if match := re.search(rf"\b(?:at |around |about )?{number}(?: o'?clock)?\s*(am|pm)\b", words):
        return _hour(_to_int(match.group(1)), 0, match.group(2))
    minutes = "|".join(_MINUTE_WORDS)
    if match := re.search(rf"\b(?:at |around |about ){number} ({minutes})\b", words):
        return _hour(_to_int(match.group(1)), _MINUTE_WORDS[match.group(2)], None)
    if match := re.search(rf"\b(?:at |around |about ){number}(?: o'?clock)?\b", words):
        return _hour(_to_int(match.group(1)), 0, None)
    if match := re.search(rf"\b{number} o'?clock\b", words):
        return _hour(_to_int(match.group(1)), 0, None)
    return None


def _afternoon(hour: int, meridiem: str | None) -> int:
    """A bound said without am/pm ("after 2"): 1 to 6 is the afternoon."""
    return hour + 12 if meridiem is None and 1 <= hour <= 6 else hour


def _to_int(token: str) -> int:
    return _NUMBERS.get(token) or int(token)


def _hour(hour: int, minute: int, meridiem: str | None) -> time | None:
    if minute > 59 or hour > 23:
        return None
    if meridiem == "pm" and hour < 12:
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    return time(hour, minute)
