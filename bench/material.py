"""The held-out material: businesses nobody tuned the receptionist on, each with its tenant file, its own website
or documents, and scripted calls with what each must achieve (bench/data/businesses/, read by bench/answers.py).

Every business is a folder:

    tenant.toml   a tenant file, as `appliance tenant create --from` takes it
    site/         its website (*.html, crawled from index.html) and documents (*.md, *.txt, added as files)
    calls.toml    the calls: [[calls]] with id, kind, turns and the expectation fields below

The calls are made at one fixed moment (CALL_TIME, in each business's own zone), so "Thursday" always means the
same day and a booking's expected day can be written as a date.
"""

from __future__ import annotations

import html.parser
import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import msgspec

from core.tenants.document import DAYS, TenantDocument, load_tenant_file

# Not from bench.common: the material is read by fast tests that need no runtime.
BUSINESSES = Path(__file__).resolve().parent / "data" / "businesses"
SPLIT_FILE = BUSINESSES / "split.toml"
# Tuesday 15 December 2026, 10:20 local time: every business is open, and no holiday is near.
CALL_TIME = (2026, 12, 15, 10, 20)

Kind = Literal[
    "fact", "unanswerable", "negative", "booking", "cancel", "lead", "message", "person", "wrong_number",
    "emergency", "injection",
]  # fmt: skip
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]


class Caller(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Who is calling: what they say when the assistant asks for a detail their scripted turns did not give.
    ``phone = "caller_id"`` says yes when asked whether the number they call from is the best one."""

    name: str = ""
    phone: str = ""
    when: str = ""
    service: str = ""  # how they answer "which service?" (their words, or a service's name as they heard it)
    reason: str = ""
    message: str = ""
    address: str = ""


class Seed(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A booking made before the call (the one a cancel call is about), under ``phone`` or the call's caller ID."""

    service: str
    start: str  # local "2026-12-18T10:00"
    name: str
    phone: str = ""


class Call(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: str
    kind: Kind
    turns: list[str]
    # fact: the reply must match it; negative: the reply states the negative; wrong_number: it says where the
    # caller is. A case-insensitive regex.
    expect: str = ""
    # A reply must never match it (an affirmation, a made-up policy); each match is a false fact.
    forbid: str = ""
    # fact and negative: words of the material that give the answer (checked by tests/bench to be there);
    # unanswerable: a regex that must NOT match the material (the question really is unanswerable from it).
    evidence: str = ""
    absent: str = ""
    # booking: the day the booking must be on (local date), and the service it should be for (reported only).
    day: str = ""
    service: str = ""
    caller_id: str | None = None  # None: the business's default_caller_id; "": withheld
    caller: Caller = msgspec.field(default_factory=Caller)
    seed: Seed | None = None
    note: str = ""


class CallsFile(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    default_caller_id: str
    # What the knowledge base must make of the site: small enough to go whole into the prompt, or searched.
    knowledge: Literal["inline", "retrieval"] = "inline"
    calls: list[Call]


class Split(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tune: list[str]
    held_out: list[str]


class Business(msgspec.Struct, kw_only=True):
    id: str
    folder: Path
    tenant: TenantDocument
    calls: CallsFile

    @property
    def site(self) -> Path:
        return self.folder / "site"

    def caller_id(self, call: Call) -> str | None:
        chosen = self.calls.default_caller_id if call.caller_id is None else call.caller_id
        return chosen or None


def load_split() -> Split:
    return msgspec.convert(tomllib.loads(SPLIT_FILE.read_text(encoding="utf-8")), Split)


def business_ids() -> list[str]:
    return sorted(p.name for p in BUSINESSES.iterdir() if (p / "tenant.toml").is_file())


def load_business(business_id: str) -> Business:
    folder = BUSINESSES / business_id
    tenant = load_tenant_file(folder / "tenant.toml")
    raw = tomllib.loads((folder / "calls.toml").read_text(encoding="utf-8"))
    return Business(id=business_id, folder=folder, tenant=tenant, calls=msgspec.convert(raw, CallsFile))


def call_time(tenant: TenantDocument) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*CALL_TIME, tzinfo=ZoneInfo(tenant.timezone))


def call_day() -> date:
    return date(*CALL_TIME[:3])


# -- the material as text: what a careful human could answer from ----------------------------------------------


class _Text(html.parser.HTMLParser):
    """The visible text of a page (scripts and styles left out), one block per line."""

    _BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "tr", "td", "th", "div", "section", "br", "dt", "dd", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    if path.suffix.lower() not in (".html", ".htm"):
        return raw
    parser = _Text()
    parser.feed(raw)
    return re.sub(r"[ \t]+", " ", "".join(parser.parts))


def site_pages(business: Business) -> list[Path]:
    return sorted(p for p in business.site.rglob("*") if p.suffix.lower() in (".html", ".htm", ".md", ".txt"))


def hours_text(tenant: TenantDocument) -> str:
    """The opening hours as a person reads them out ("Saturday: 8 am to 12 pm (08:00-12:00)"), so that the
    expectations of hours questions can be checked against the material in the words a reply uses."""
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    lines = []
    for day, name in zip(DAYS, names, strict=True):
        ranges = tenant.opening_hours()[day]
        if not ranges:
            lines.append(f"{name}: closed")
            continue
        spoken = ", ".join(f"{_twelve(a.hour, a.minute)} to {_twelve(b.hour, b.minute)}" for a, b in ranges)
        lines.append(f"{name}: {spoken} ({tenant.hours.get(day, '')})")
    return "\n".join(lines)


def _twelve(hour: int, minute: int) -> str:
    suffix = "am" if hour < 12 else "pm"
    shown = hour % 12 or 12
    return f"{shown}:{minute:02d} {suffix}" if minute else f"{shown} {suffix}"


def material_text(business: Business) -> str:
    """Everything the business wrote: the tenant file as written, its hours read out, its pages' text."""
    parts = [(business.folder / "tenant.toml").read_text(encoding="utf-8"), hours_text(business.tenant)]
    parts += [page_text(p) for p in site_pages(business)]
    return "\n\n".join(parts)
