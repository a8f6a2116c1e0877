"""The tenant file: one business's profile, hours, services, FAQ text, numbers and assistant, as TOML.

The format is documented in the README; ``examples/tenants/example.toml`` is a complete one.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from core.errors import InputError
from core.outbound.guard import AddressPolicy
from core.tenants.telephony import Telephony, telephony_problems

_SIP_URI = re.compile(r"^sips?:[^\s@]+(@[^\s@]+)?$", re.I)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
_COUNTRY_CODE = re.compile(r"^\+?[1-9][0-9]{0,2}$")
_MAX_TAKE_OVER_NUMBERS = 50
# How a refused address names the setting that would allow it (in the operator's log).
ALLOW_HOSTS = "allow_hosts in the business's tenant file"


class Service(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    duration_minutes: int = 60
    price: str = ""
    description: str = ""


SKILLS = ("booking", "leads", "messages", "emergencies", "transfer", "knowledge")


class Assistant(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    greeting: str = ""
    # A bundled personality by name (core/dialogue/skills/personalities/), or your own words.
    personality: str = "friendly"
    voice: str = ""
    skills: list[str] = msgspec.field(default_factory=lambda: list(SKILLS))
    # Words that send the caller to a person (offered, then transferred): "complaint", "manager", ...
    escalation_words: list[str] = msgspec.field(default_factory=list)
    # Silence that ends a caller's turn, if this business's callers need more (or less) than the box's setting.
    endpoint_silence_ms: int | None = None
    # The turn model deciding when a caller has finished (the box's calls.turn_detection): false for callers it
    # misjudges, so that endpoint_silence_ms alone decides.
    turn_detection: bool | None = None


class Emergency(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What counts as an emergency for this business, and what the caller is told at once."""

    phrases: list[str] = msgspec.field(default_factory=list)
    safety_line: str = ""


class Caldav(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: str
    username: str = ""
    password: str = ""
    calendar: str = "bookings"


class Booking(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    calendar: Literal["builtin", "caldav"] = "builtin"
    slot_minutes: int = 30  # appointments start on this grid
    buffer_minutes: int = 0  # kept free between appointments
    lead_minutes: int = 60  # the earliest bookable time, from now
    horizon_days: int = 60  # the latest bookable day, from today
    holidays: list[str] = msgspec.field(default_factory=list)  # ISO dates the business is closed
    caldav: Caldav | None = None


class Notifications(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    owner_email: str = ""
    owner_sms: str = ""
    confirm_bookings_by_sms: bool = True  # sent only to the caller ID's own number, in the business's country
    # At most this many texts to callers in any 24 hours, for the business (0: none at all). Each call costs an
    # attacker nothing; each text costs the business.
    sms_to_callers_per_day: int = 50


class HttpTool(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A tool of the business's own, behind an HTTPS endpoint; requests are signed with HMAC-SHA256."""

    name: str
    description: str
    url: str
    method: Literal["GET", "POST"] = "POST"
    parameters: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "object", "properties": {}})
    secret: str = ""
    timeout_seconds: float = 4.0


class Transfer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Where a caller who wants a person goes: a number or SIP URI, and the key that asks for it."""

    number: str = ""
    dtmf_digit: str = "0"
    # Further numbers (or SIP URIs) staff may hand a call to from the live view. Calls are transferred nowhere
    # else: see core/tenants/transfers.py.
    take_over_numbers: list[str] = msgspec.field(default_factory=list)


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
    # The country calling code of the business ("61", "44", "1"): which callers' numbers are at home, for texts and
    # for matching a caller to a booking. Empty: read from the first international number in numbers, then phone.
    country_code: str = ""
    hours: dict[str, str] = msgspec.field(default_factory=dict)
    services: list[Service] = msgspec.field(default_factory=list)
    faq: str = ""
    assistant: Assistant = msgspec.field(default_factory=Assistant)
    transfer: Transfer = msgspec.field(default_factory=Transfer)
    telephony: Telephony = msgspec.field(default_factory=Telephony)
    emergency: Emergency = msgspec.field(default_factory=Emergency)
    booking: Booking = msgspec.field(default_factory=Booking)
    notifications: Notifications = msgspec.field(default_factory=Notifications)
    tools: list[HttpTool] = msgspec.field(default_factory=list)
    # Hosts (exact names) or addresses and ranges (CIDR) on the business's own network that its tools, CalDAV
    # calendar and webhooks may reach although they are private or loopback, e.g. ["192.168.1.20"] for a
    # calendar server in the office. Everything else private is refused; cloud metadata and link-local
    # addresses are never reached. Only an installer may change it.
    allow_hosts: list[str] = msgspec.field(default_factory=list)

    def has(self, skill: str) -> bool:
        return skill in self.assistant.skills

    def open_at(self, day: date, at: time) -> bool:
        """Whether the business is open at a local time on a day (holidays included)."""
        if day.isoformat() in self.booking.holidays:
            return False
        ranges = self.opening_hours()[DAYS[day.weekday()]]
        return any(start <= at < end for start, end in ranges)

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
    return parse_tenant(read_tenant_file(path), source=str(path))


def read_tenant_file(path: Path) -> dict[str, Any]:
    """The tenant file's TOML as it is written, not yet checked."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"tenant file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"tenant file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"tenant file {path} is not valid TOML: {exc}") from None


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
    if doc.country_code.strip() and not _COUNTRY_CODE.match(doc.country_code.strip()):
        problems.append(f"country_code: '{doc.country_code}' is not a country calling code (1-3 digits, like 44)")
    problems += _problems_of_parts(doc)
    for key, target in (
        ("transfer.number", doc.transfer.number),
        ("telephony.after_hours_transfer", doc.telephony.after_hours_transfer),
    ):
        if (
            target.strip()
            and not (key.startswith("telephony") and target.strip() == "off")
            and transfer_target(target) is None
        ):
            problems.append(f"{key}: '{target}' is neither a phone number nor a sip: URI")
    for target in doc.transfer.take_over_numbers:
        if transfer_target(target) is None:
            problems.append(f"transfer.take_over_numbers: '{target}' is neither a phone number nor a sip: URI")
    if len(doc.transfer.take_over_numbers) > _MAX_TAKE_OVER_NUMBERS:
        problems.append(f"transfer.take_over_numbers: at most {_MAX_TAKE_OVER_NUMBERS}")
    if doc.transfer.dtmf_digit not in tuple("0123456789*#"):
        problems.append("transfer.dtmf_digit must be one key: 0-9, * or #")
    problems += telephony_problems(doc.telephony)
    for i, service in enumerate(doc.services):
        if not service.name.strip():
            problems.append(f"services[{i}]: name is empty")
        if not 5 <= service.duration_minutes <= 24 * 60:
            problems.append(f"services[{i}].duration_minutes must be 5 to 1440")
    return problems


def _problems_of_parts(doc: TenantDocument) -> list[str]:
    problems = [
        f"assistant.skills: unknown skill '{s}' (known: {', '.join(SKILLS)})"
        for s in doc.assistant.skills
        if s not in SKILLS
    ]
    silence = doc.assistant.endpoint_silence_ms
    if silence is not None and not 200 <= silence <= 3000:
        problems.append("assistant.endpoint_silence_ms must be 200 to 3000")
    booking = doc.booking
    if not 5 <= booking.slot_minutes <= 240:
        problems.append("booking.slot_minutes must be 5 to 240")
    if not 0 <= booking.buffer_minutes <= 240:
        problems.append("booking.buffer_minutes must be 0 to 240")
    if not 0 <= doc.notifications.sms_to_callers_per_day <= 10_000:
        problems.append("notifications.sms_to_callers_per_day must be 0 to 10000")
    if booking.calendar == "caldav" and booking.caldav is None:
        problems.append("booking.calendar is 'caldav' but there is no [booking.caldav] table with its url")
    if booking.caldav is not None and not booking.caldav.url.startswith(("http://", "https://")):
        problems.append("booking.caldav.url must be an http(s) URL")
    try:
        AddressPolicy(doc.allow_hosts)
    except ValueError as exc:
        problems.append(str(exc))
    for holiday in booking.holidays:
        try:
            date.fromisoformat(holiday)
        except ValueError:
            problems.append(f"booking.holidays: '{holiday}' is not a date like 2026-12-25")
    names = [tool.name for tool in doc.tools]
    for tool in doc.tools:
        if not re.match(r"^[a-z][a-z0-9_]{2,39}$", tool.name):
            problems.append(f"tools: name '{tool.name}' must be 3-40 characters of a-z, 0-9 and _")
        if names.count(tool.name) > 1:
            problems.append(f"tools: '{tool.name}' is declared twice")
        if not tool.url.startswith(("http://", "https://")):
            problems.append(f"tools.{tool.name}.url must be an http(s) URL")
        if tool.parameters.get("type") != "object" or not isinstance(tool.parameters.get("properties", {}), dict):
            problems.append(f"tools.{tool.name}.parameters must be a JSON schema of type object")
        if not 0.2 <= tool.timeout_seconds <= 30:
            problems.append(f"tools.{tool.name}.timeout_seconds must be 0.2 to 30")
    return problems


def normalise_number(number: str) -> str:
    """Digits with an optional leading +, as carriers send them in a Request-URI: spaces and dashes dropped."""
    return re.sub(r"[\s\-().]", "", number)


def transfer_target(text: str) -> str | None:
    """A transfer target as it is compared: a SIP URI as written (its scheme in lower case), or a number
    normalised; None when the text is neither."""
    text = text.strip()
    if _SIP_URI.match(text):
        scheme, rest = text.split(":", 1)
        return f"{scheme.lower()}:{rest}"
    number = normalise_number(text)
    return number if _NUMBER.match(number) else None
