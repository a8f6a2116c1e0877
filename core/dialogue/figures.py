"""Figures in a reply that nothing in the call accounts for.

A small model fills a figure in from whatever is near it in the prompt: asked "How much is a men's cut?", the 0.5B
model said "about 30 pounds" from the cut's 30 minutes, though the price was £28; asked when a clinic that closes
at 2 pm closes on Fridays, it said "4 pm", from an example. So every figure a reply clause states (an amount, a
clock time, a date, a duration, a phone number, a street number, a percentage, a count) must be one the call was
given: by the business's tenant file, the reference text of the answer, what was said in the call, or the call's
own date and time. A clause with any other is not spoken.

Figures are compared by value, not by spelling: "5 pm", "17:00" and "five o'clock in the afternoon" are one time;
"an hour and a half" and "90 minutes" one duration; "+61 3 9555 0142" and "9555 0142" one phone number. Weekday
names are not checked: the business facts name all seven days, open or closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from core.tenants.document import TenantDocument

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
NUMBER_WORDS = {w: n for n, w in enumerate(_ONES)} | {w: 10 * n for n, w in enumerate(_TENS, start=2)}
_NTH = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh",
    "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth",
)  # fmt: skip
_ORDINALS = (
    {w: n for n, w in enumerate(_NTH, start=1)}
    | {"twentieth": 20, "thirtieth": 30, "thirty first": 31}
    | {f"twenty {w}": 20 + n for n, w in enumerate(_NTH[:9], start=1)}
)
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december",
)  # fmt: skip
_MONTHS = {m: n for n, m in enumerate(_MONTH_NAMES, start=1)} | {m[:3]: n for n, m in enumerate(_MONTH_NAMES, 1)}
_MONTHS["sept"] = 9
_DIGIT_WORDS = {w: NUMBER_WORDS[w] for w in _ONES[:10]} | {"oh": 0}


def _any(words: Iterable[str]) -> str:
    """A regex alternation of words, the longest first; a space in a word also matches a hyphen."""
    return "|".join(w.replace(" ", "[- ]") for w in sorted(words, key=len, reverse=True))


_DIGIT_1_9 = _any(_ONES[1:10])
_W99 = rf"(?:(?:{_any(_TENS)})(?:[- ](?:{_DIGIT_1_9}))?|{_any(_ONES)})"
_WORDS = rf"\b{_W99}(?:\s+hundred(?:\s+(?:and\s+)?{_W99})?)?\b"
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NUM = rf"(?:{_DIGITS}|{_WORDS})"
_NUMERAL = re.compile(rf"(?<![\w.,])(?:{_DIGITS})|{_WORDS}", re.IGNORECASE)

# A figure is known when the call has any one of its readings (a time said without am or pm has two). A reading is
# a kind of value and the value: ("money", Decimal), ("percent", Decimal), ("number", Decimal), ("time", minutes
# since midnight), ("duration", (unit, amount)), ("date", (month, day)), ("day", day of the month),
# ("day alone", a day of the month said without its month) and ("phone", digits).
Reading = tuple[str, Hashable]
# Kinds whose numerals are quantities a count may repeat (a count of 30 where the business gives 30 minutes).
_QUANTITIES = ("amount", "percentage", "duration", "number", "street number")


@dataclass(frozen=True, slots=True)
class Figure:
    kind: str  # what the caller would take it for: "amount", "clock time", "phone number", ...
    text: str
    start: int
    end: int
    readings: tuple[Reading, ...]  # known when any one of these is
    gives: tuple[Reading, ...]  # what it makes known where the text it is in is a source


def _number(text: str) -> Decimal:
    text = text.lower().replace(",", "")
    if text[0].isdigit():
        return Decimal(text).normalize()
    total = 0
    for word in re.split(r"[\s-]+", text):
        if word == "hundred":
            total *= 100
        elif word != "and":
            total += NUMBER_WORDS[word]
    return Decimal(total)


def _figure(
    m: re.Match[str], kind: str, readings: tuple[Reading, ...], gives: tuple[Reading, ...] | None = None
) -> list[Figure]:
    gives = readings if gives is None else gives
    if kind in _QUANTITIES:
        gives += tuple(("number", _number(n)) for n in _NUMERAL.findall(m[0]))
    return [Figure(kind, m[0], m.start(), m.end(), readings, gives)]


# Money: "$95", "A$ 95", "£28.50"; "28 pounds", "twenty-eight dollars", "50p", "95 AUD".
_SYMBOL = r"(?:[A-Z]{1,2})?[$£€¥₹]"
_UNIT = r"(?:pounds?|quid|dollars?|bucks|euros?|pence|cents?|AUD|USD|GBP|EUR|NZD|CAD)\b|p(?![\w.])"  # not "2 p.m."
_AMOUNT = rf"(?<![\w.,]){_SYMBOL}\s?(?P<a>{_NUM})|(?<![\w.,])(?P<b>{_NUM})\s?(?:{_UNIT})"


def _amount(m: re.Match[str]) -> list[Figure]:
    return _figure(m, "amount", (("money", _number(m["a"] or m["b"])),))


_PERCENT = rf"(?<![\w.,])(?P<n>{_NUM})\s?(?:%|per\s?cent\b)"


def _percent(m: re.Match[str]) -> list[Figure]:
    return _figure(m, "percentage", (("percent", _number(m["n"])),))


def _date(m: re.Match[str], month: int, day: int) -> list[Figure]:
    """A day of a month: known as that date, or as the day alone where one was said without a month ("the 14th")."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return []
    return _figure(m, "date", (("date", (month, day)), ("day alone", day)), (("date", (month, day)), ("day", day)))


_ISO_DATE = r"\b\d{4}-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"
_DAY = rf"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)|\b(?:{_any(_ORDINALS)})\b"
_MONTH = rf"\b(?:{_any(_MONTHS)})\b\.?"
_MONTH_DAY = rf"(?P<m1>{_MONTH})\s+(?:the\s+)?(?P<d1>{_DAY})|\b(?:the\s+)?(?P<d2>{_DAY})\s+(?:of\s+)?(?P<m2>{_MONTH})"


def _iso_date(m: re.Match[str]) -> list[Figure]:
    return _date(m, int(m["m"]), int(m["d"]))


def _month_day(m: re.Match[str]) -> list[Figure]:
    month, day = (m["m1"], m["d1"]) if m["m1"] else (m["m2"], m["d2"])
    day = day.lower().replace("-", " ")
    number = _ORDINALS[day] if day in _ORDINALS else int(day.rstrip("stndrh"))
    return _date(m, _MONTHS[month.lower().rstrip(".")], number)


_ORDINAL_DAY = r"(?<![\w.,])(?P<d>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)\b"


def _ordinal_day(m: re.Match[str]) -> list[Figure]:
    day = int(m["d"])
    return _figure(m, "date", (("day", day),), (("day", day), ("day alone", day)))


# Phone numbers as written ("+61 3 9555 0142", "(312) 555-0187") or read out a digit at a time ("oh four one two,
# five five five", "0 4 1 2, 5 5 5"); fewer than six digits are not one.
_PHONE = r"(?<![\w+.,])(?:\+\s?)?(?:\(\d+\)\s?)?\d+(?:(?:[ .-]|\s?\(\d+\)\s?)\d+)*(?!\w)"
_SPOKEN_DIGIT = rf"(?:(?:double|triple)\s+)?(?:\d(?!\d|\.\d)|\b(?:{_any(_DIGIT_WORDS)})\b)"
_SPOKEN_PHONE = rf"(?<![\w+.,])(?:\+\s?|\bplus\s+)?{_SPOKEN_DIGIT}(?:[\s,-]+{_SPOKEN_DIGIT}){{5,}}"


def _phone(m: re.Match[str]) -> list[Figure]:
    digits, repeat = "", 1
    for token in re.findall(r"\d+|[a-z]+", m[0].lower()):
        if token in ("double", "triple"):
            repeat = 2 if token == "double" else 3
        elif token != "plus":
            digits += (token if token.isdigit() else str(_DIGIT_WORDS[token])) * repeat
            repeat = 1
    return _figure(m, "phone number", (("phone", digits),)) if len(digits) >= 6 else []


# Durations: "90 minutes", "a 12-month guarantee", "one and a half hours", "an hour and a half", "half an hour".
# "A minute", "a day" and "a week" are ways of speaking ("just a minute", "7 days a week"); "an hour" is a figure.
_DURATION_UNITS = {
    "min": ("minutes", 1), "minute": ("minutes", 1), "hr": ("minutes", 60), "hour": ("minutes", 60),
    "day": ("minutes", 1440), "week": ("minutes", 10080), "month": ("months", 1), "year": ("months", 12),
}  # fmt: skip
_DURATION = (
    rf"(?<![\w.,])(?:(?P<n>{_NUM})(?P<half1>\s+and\s+a\s+half)?|(?P<an>\ban?))[\s-]+(?P<u>{_any(_DURATION_UNITS)})s?"
    rf"\b(?P<half2>\s+and\s+a\s+half)?|\b(?P<half>half)(?:\s+an?\s+|[\s-])(?P<hu>hour|day)\b"
)


def _duration(m: re.Match[str]) -> list[Figure]:
    if m["half"]:
        count, unit = Decimal("0.5"), m["hu"].lower()
    else:
        unit = m["u"].lower()
        if m["an"] and unit != "hour":
            return []
        count = (Decimal(1) if m["an"] else _number(m["n"])) + (Decimal("0.5") if m["half1"] or m["half2"] else 0)
    measure, size = _DURATION_UNITS[unit]
    amount = count * size
    if measure == "minutes" and amount < 2:  # "one minute" is said to mean "a moment"
        return []
    return _figure(m, "duration", (("duration", (measure, amount.normalize())),))


# Clock times: "8 am", "5:30 pm", "five o'clock in the afternoon", "at 7:30", "from 9 to 5", "half past five",
# "noon", "17:30". An hour said without am, pm or a part of the day may be either.
_TWELVE = _any(_ONES[1:13])
_HOUR = rf"(?:1[0-2]|0?[1-9])(?!\d)|\b(?:{_TWELVE})\b"
_HOUR_24 = rf"(?:[01]?\d|2[0-3])(?!\d)|\b(?:{_TWELVE})\b"
_MINUTE_WORDS = (
    rf"\b(?:oh\s+(?:{_DIGIT_1_9})|(?:twenty|thirty|forty|fifty)(?:[- ](?:{_DIGIT_1_9}))?|{_any(_ONES[10:])})\b"
)
_PART_OF_DAY = r"in\s+the\s+(?:morning|afternoon|evening)|at\s+night|tonight"
_SUFFIX = rf"[ap]\.?m\b\.?|o[’']?clock(?:\s+(?:{_PART_OF_DAY}))?|{_PART_OF_DAY}"


def _clock(i: int, hour: str, suffix_optional: bool = True) -> str:
    """One clock time's groups, numbered ``i``: the hour, its minutes (":30" or " thirty") and a suffix."""
    suffix = rf"\s?(?P<s{i}>{_SUFFIX})"
    return rf"(?P<h{i}>{hour})(?:(?P<c{i}>[:.][0-5]\d)|\s+(?P<w{i}>{_MINUTE_WORDS}))?" + (
        f"(?:{suffix})?" if suffix_optional else suffix
    )


_PREPOSITION = r"at|from|until|till|til|by|before|after|around|between|opens?|closes?|opening|closing"
# "at 7", "from 9 to 5": an hour after a word that sets a time, but not "by two of our plumbers".
_AT_TIME = (
    rf"\b(?:{_PREPOSITION})\s+(?:about\s+|around\s+)?{_clock(1, _HOUR_24)}"
    rf"(?:\s*(?:to|and|till|until|-|–)\s*{_clock(2, _HOUR_24)})?(?!\s*(?:of\b|%|per\b))"
)
# "7:30 to 5", "9-5": a range is a time without a word before it.
_TIME_RANGE = (
    rf"(?<![\w.,:]){_clock(1, _HOUR_24)}\s*(?:to|till|until|-|–)\s*{_clock(2, _HOUR_24)}(?!\s*(?:of\b|%|per\b))"
)
_CLOCK_TIME = rf"(?<![\w.,:]){_clock(1, _HOUR, suffix_optional=False)}"
_PAST_TIME = rf"\b(?P<q>half|quarter)\s+(?P<rel>past|to)\s+(?P<h1>{_HOUR})(?:\s?(?P<s1>{_SUFFIX}))?"
_NOON = r"(?<!\w)(?:(?:12|twelve)\s+)?(?P<n>noon|midday|midnight)\b"
_24_HOUR = r"(?<![\w.:])(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?![\d:])"


def _times(hour: int, minute: int, suffix: str | None) -> tuple[Reading, ...]:
    """Minutes since midnight: one reading where the part of the day is said or the hour is past 12, else two."""
    said = (suffix or "").lower()
    if said and hour > 12 and not said.startswith("o"):
        return ()  # "14 pm" is no time
    if said.startswith("p") or any(part in said for part in ("afternoon", "evening", "night")):
        hours: tuple[int, ...] = (hour % 12 + 12,)
    elif said.startswith("a") or "morning" in said:
        hours = (hour % 12,)
    else:
        hours = (hour,) if hour == 0 or hour > 12 else (hour % 12, hour % 12 + 12)
    return tuple(("time", h * 60 + minute) for h in hours)


def _hour(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]


def _clock_times(m: re.Match[str], i: int) -> tuple[Reading, ...]:
    if m[f"c{i}"]:
        minute = int(m[f"c{i}"][1:])
    elif m[f"w{i}"]:
        minute = sum(NUMBER_WORDS[w] for w in re.split(r"[\s-]+", m[f"w{i}"].lower()) if w != "oh")
    else:
        minute = 0
    return _times(_hour(m[f"h{i}"]), minute, m[f"s{i}"])


def _clock_time(m: re.Match[str]) -> list[Figure]:
    times = _clock_times(m, 1)
    return _figure(m, "clock time", times) if times else []


def _at_time(m: re.Match[str]) -> list[Figure]:
    """A time, or each end of a range ("from 9 to 5")."""
    found = []
    for i in (1, 2):
        if m[f"h{i}"] is None:
            continue
        if not (times := _clock_times(m, i)):
            return []
        start = m.start() if i == 1 else m.start(f"h{i}")
        end = max(m.end(g) for g in (f"h{i}", f"c{i}", f"w{i}", f"s{i}") if m[g] is not None)
        found.append(Figure("clock time", m.string[start:end], start, end, times, times))
    return found


def _past_time(m: re.Match[str]) -> list[Figure]:
    hour, minute = _hour(m["h1"]), 30 if m["q"].lower() == "half" else 15
    if m["rel"].lower() == "to":
        hour, minute = (hour - 1) % 12 or 12, 60 - minute
    times = _times(hour, minute, m["s1"])
    return _figure(m, "clock time", times) if times else []


def _noon(m: re.Match[str]) -> list[Figure]:
    return _figure(m, "clock time", (("time", 0 if m["n"].lower() == "midnight" else 720),))


def _24_hour(m: re.Match[str]) -> list[Figure]:
    return _figure(m, "clock time", _times(int(m["h"]), int(m["m"]), None))


# A street number before the street's name ("14 Tinning Street"), which is not a time ("at 14").
_STREET = (
    r"(?<![\w.,])(?P<n>\d+)[a-z]?(?:\s+[a-z][\w'’-]*){1,3}\s+(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|"
    r"boulevard|blvd|highway|hwy|parade|pde|crescent|terrace|court|place)\b"
)


def _street(m: re.Match[str]) -> list[Figure]:
    return _figure(m, "street number", (("number", _number(m["n"])),))


# Any other number is a count, checked from two up: "one" is how people speak ("one moment", "one of the team").
_BARE = rf"(?<![\w.,])(?:{_DIGITS})(?![\w%])|{_WORDS}"


def _bare(m: re.Match[str]) -> list[Figure]:
    value = _number(m[0])
    return _figure(m, "number", (("number", value),)) if value >= 2 else []


# In this order: the first reader to claim a span has it (a phone number's digits are not also counts).
_READERS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], list[Figure]]]] = [
    (re.compile(pattern, re.IGNORECASE), read)
    for pattern, read in (
        (_AMOUNT, _amount),
        (_PERCENT, _percent),
        (_ISO_DATE, _iso_date),
        (_MONTH_DAY, _month_day),
        (_SPOKEN_PHONE, _phone),
        (_PHONE, _phone),
        (_DURATION, _duration),
        (_STREET, _street),
        (_PAST_TIME, _past_time),
        (_NOON, _noon),
        (_AT_TIME, _at_time),
        (_TIME_RANGE, _at_time),
        (_CLOCK_TIME, _clock_time),
        (_24_HOUR, _24_hour),
        (_ORDINAL_DAY, _ordinal_day),
        (_BARE, _bare),
    )
]


def figures(text: str) -> list[Figure]:
    """The figures ``text`` states, in order."""
    found: list[Figure] = []
    claimed: list[tuple[int, int]] = []
    for pattern, read in _READERS:
        for match in pattern.finditer(text):
            if any(match.start() < end and start < match.end() for start, end in claimed):
                continue
            if read_here := read(match):
                claimed.append(match.span())
                found += read_here
    return sorted(found, key=lambda f: f.start)


def amounts(text: str) -> list[tuple[Decimal, int, int]]:
    """The money amounts ``text`` states, with where each one is: ``(value, start, end)``."""
    return [
        (value, f.start, f.end)
        for f in figures(text)
        for key, value in f.readings
        if key == "money" and isinstance(value, Decimal)
    ]


def _same_phone(said: str, known: str) -> bool:
    """The same number, with or without its country or area code: the shorter ends the longer, and has at least
    six digits (a trunk prefix's 0 aside: "03 9555 0142" is "+61 3 9555 0142")."""
    short, long = sorted((said.lstrip("0"), known.lstrip("0")), key=len)
    return len(short) >= 6 and long.endswith(short)


class Known:
    """The figures a reply may state: those its sources give."""

    def __init__(self, readings: Iterable[Reading] = ()) -> None:
        self._readings = set(readings)

    @classmethod
    def of(cls, tenant: TenantDocument, texts: Iterable[str] = (), started: datetime | None = None) -> Known:
        """The business's figures (its tenant file's), those in ``texts``, and the date and time the call
        ``started``."""
        known = cls()
        for service in tenant.services:
            for price in _NUMERAL.findall(service.price):
                known._readings |= {("money", _number(price)), ("number", _number(price))}
            minutes = Decimal(service.duration_minutes)
            # The duration, and the numbers it is said with: "90 minutes", "1.5 hours", "3 hours".
            hours = (minutes / 60).normalize()
            known._readings |= {("duration", ("minutes", minutes.normalize())), ("number", minutes), ("number", hours)}
        for start, end in (span for spans in tenant.opening_hours().values() for span in spans):
            # The opening and closing times only: a time inside the hours is not one the business gave.
            known._readings |= {("time", start.hour * 60 + start.minute), ("time", end.hour * 60 + end.minute)}
            if end == time(23, 59):  # a day open until 24:00 closes at midnight
                known._readings.add(("time", 0))
        for holiday in tenant.booking.holidays:
            known._add_date(date.fromisoformat(holiday))
        if started is not None:
            known._add_date(started.date())
            known._readings |= {("time", started.hour * 60 + started.minute), ("number", Decimal(started.year))}
        own = [tenant.name, tenant.description, tenant.phone, *tenant.numbers, tenant.address, tenant.faq]
        own += [
            tenant.greeting(),
            tenant.emergency.safety_line,
            *(f"{s.name}. {s.description}" for s in tenant.services),
        ]
        return known.with_texts([*own, *texts])

    def _add_date(self, day: date) -> None:
        self._readings |= {("date", (day.month, day.day)), ("day", day.day)}

    def with_texts(self, texts: Iterable[str]) -> Known:
        """These figures and those ``texts`` state."""
        return Known(self._readings.union(*(figure.gives for text in texts for figure in figures(text))))

    def has(self, figure: Figure) -> bool:
        return any(self._has(reading) for reading in figure.readings)

    def _has(self, reading: Reading) -> bool:
        key, value = reading
        if key == "phone":
            return any(k == "phone" and _same_phone(str(value), str(v)) for k, v in self._readings)
        return reading in self._readings


class FigureGuard:
    """Says which figure of a reply clause nothing in the call accounts for, if one does not. Clauses are checked
    as they stream, each with the end of the one before it, so a figure cut in two ("it's 30" / "pounds") is
    caught in its second half."""

    def __init__(self, known: Known, tail_chars: int = 40) -> None:
        self._known = known
        self._tail = ""
        self._tail_chars = tail_chars

    def unknown(self, clause: str) -> Figure | None:
        text = f"{self._tail} {clause}" if self._tail else clause
        start = len(text) - len(clause)
        self._tail = text[-self._tail_chars :]
        return next((f for f in figures(text) if f.end > start and not self._known.has(f)), None)
