"""The tenant file: one business's profile, hours, services, FAQ text, numbers and assistant, as TOML.

The format is documented in the README; ``examples/tenants/example.toml`` is a complete one.
"""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from appliance.errors import InputError
from appliance.tenants.telephony import Telephony, telephony_problems

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")


class Service(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    duration_minutes: int = 60
    price: str = ""
    description: str = ""


class Assistant(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    greeting: str = ""
    personality: str = "warm, brief and practical"
    voice: str = ""


class Transfer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where a caller who wants a person goes: a number or SIP URI, and the key that asks for it."""

    number: str = ""
    dtmf_digit: str = "0"


class TenantDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: str
    name: str
    timezone: str
    description: str = ""
    phone: str = ""
    address: str = ""
    website: str = ""
    email: str = ""
    numbers: list[str] = msgspec.field(default_factory=list)
    hours: dict[str, str] = msgspec.field(default_factory=dict)
    services: list[Service] = msgspec.field(default_factory=list)
    faq: str = ""
    assistant: Assistant = msgspec.field(default_factory=Assistant)
    transfer: Transfer = msgspec.field(default_factory=Transfer)
    telephony: Telephony = msgspec.field(default_factory=Telephony)

    def greeting(self) -> str:
        """What the assistant says first: the business's name and that it is an AI assistant."""
        if self.assistant.greeting:
            return self.assistant.greeting.replace("{name}", self.name)
        return f"Thanks for calling {self.name}. I'm the AI assistant. How can I help you today?"

    def opening_hours(self) -> dict[str, list[tuple[time, time]]]:
        return {day: parse_hours(self.hours.get(day, "closed")) for day in DAYS}


def parse_hours(text: str) -> list[tuple[time, time]]:
    """``"08:00-12:00, 13:00-17:30"`` → ranges; ``"closed"`` → none."""
    text = text.strip().lower()
    if text in ("", "closed"):
        return []
    ranges = []
    for part in text.split(","):
        match = _RANGE.match(part.strip())
        if not match:
            raise ValueError(f"'{part.strip()}' is not a range like 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValueError(f"'{part.strip()}' is not a valid time range")
        start, end = time(h1, m1), (time(23, 59) if h2 == 24 else time(h2, m2))
        if end <= start:
            raise ValueError(f"'{part.strip()}' ends before it starts")
        ranges.append((start, end))
    return ranges


def load_tenant_file(path: Path) -> TenantDocument:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"tenant file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"tenant file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"tenant file {path} is not valid TOML: {exc}") from None
    return parse_tenant(raw, source=str(path))


def parse_tenant(raw: Any, source: str = "tenant") -> TenantDocument:
    try:
        doc = msgspec.convert(raw, TenantDocument)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if " - at `$." in message:
            text, _, where = message.partition(" - at `$.")
            message = f"{where.rstrip('`')}: {text}"
        raise InputError(f"{source}: {message}") from None
    problems = _problems(doc)
    if problems:
        raise InputError(f"{source}: " + "; ".join(problems))
    return doc


def _problems(doc: TenantDocument) -> list[str]:
    problems = []
    if not _SLUG.match(doc.id):
        problems.append("id must be 2-40 characters of a-z, 0-9 and '-', starting with a letter or digit")
    if not doc.name.strip():
        problems.append("name is empty")
    try:
        ZoneInfo(doc.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"timezone '{doc.timezone}' is not a known IANA time zone (e.g. Europe/London)")
    for day, text in doc.hours.items():
        if day not in DAYS:
            problems.append(f"hours.{day}: not a day; use {', '.join(DAYS)}")
            continue
        try:
            parse_hours(text)
        except ValueError as exc:
            problems.append(f"hours.{day}: {exc}")
    for number in doc.numbers:
        if not _NUMBER.match(normalise_number(number)):
            problems.append(f"numbers: '{number}' is not a phone number (digits, optionally starting with +)")
    if len({normalise_number(n) for n in doc.numbers}) != len(doc.numbers):
        problems.append("numbers: a number is listed twice")
    if doc.transfer.dtmf_digit not in tuple("0123456789*#"):
        problems.append("transfer.dtmf_digit must be one key: 0-9, * or #")
    problems += telephony_problems(doc.telephony)
    for i, service in enumerate(doc.services):
        if not service.name.strip():
            problems.append(f"services[{i}]: name is empty")
        if not 5 <= service.duration_minutes <= 24 * 60:
            problems.append(f"services[{i}].duration_minutes must be 5 to 1440")
    return problems


def normalise_number(number: str) -> str:
    """Digits with an optional leading +, as carriers send them in a Request-URI: spaces and dashes dropped."""
    return re.sub(r"[\s\-().]", "", number)
