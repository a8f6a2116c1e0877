"""The business's facts as a sheet of keyed lines: what a question is answered from, in the business's own words.

A small model asked a question paraphrases whatever is near in its prompt, and says "yes" to what nothing
supports ("Yes, we install solar panels"; "Yes, we do jobs in Wollongong" where the website says it does not).
So the model does not answer questions: it chooses which line of this sheet answers one (or none), from a short
list the code ranks, and the code says that line as the business wrote it. Every line has a key, shown to the
model in brackets before the line; what is spoken is the line itself, or for hours and services a sentence built
from the tenant file's own figures.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from core.dialogue.figures import amounts
from core.dialogue.lines import spoken_number, spoken_time
from core.knowledge import Passage
from core.tenants.document import DAYS, Service, TenantDocument
from models.interfaces import Embedder, Float32

NONE = "none"  # the model's choice when no line answers the question
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by can do does for from have how i if in is it its me my of on or our so that the "
        "their them there they this to we what when where which who will with you your yes no not any also just please "
        "whats hows wheres whens whos thats theres dont doesnt cant wont youre youve im ive id ill isnt arent hi hello "
        "hey thanks okay ok um uh yeah could would should may might must",
    )
)
_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# A sentence longer than this is cut at a clause: it is read aloud whole.
_MAX_WORDS = 45


@dataclass(frozen=True, slots=True)
class Fact:
    key: str
    text: str  # what a question is matched against
    spoken: str  # what the caller hears when it is chosen


def _slug(text: str, words: int = 3) -> str:
    content = [w for w in _WORD.findall(text.lower().replace("'", "")) if w not in _STOP and not w.isdigit()]
    return "_".join(content[:words]) or "line"


def _duration(minutes: int) -> str:
    """In words where they are short ("half an hour", "2 hours"), so that durations are not figures a price can
    be taken from."""
    hours, rest = divmod(minutes, 60)
    if minutes == 30:
        return "half an hour"
    if hours == 1 and rest in (0, 30):
        return "an hour" + (" and a half" if rest else "")
    if hours and rest in (0, 30):
        return f"{hours}" + (" and a half" if rest else "") + " hours"
    return f"{minutes} minutes"


def service_line(service: Service) -> str:
    """A service as the prompt lists it: labelled, the price first (given as "(about 30 minutes, £28)", the 0.5B
    model priced a men's cut at "about 30 pounds")."""
    price, about = service.price.strip(), service.description.strip()
    facts = [f"price {price}" if price else "price not listed", f"takes {_duration(service.duration_minutes)}"]
    return f"{service.name}: " + "; ".join([*facts, about] if about else facts)


def _spoken_service(service: Service) -> str:
    price, about = service.price.strip(), service.description.strip().rstrip(".")
    spoken = (
        f"{service.name}: "
        + (f"{price}, " if price else "")
        + f"and it takes about {_duration(service.duration_minutes)}."
    )
    return spoken + (f" {about[0].upper()}{about[1:]}." if about else "")


def _ranges(ranges: list[tuple[time, time]]) -> str:
    return " and ".join(f"{spoken_time(a)} to {spoken_time(b)}" for a, b in ranges)


def _faq_entries(faq: str) -> list[tuple[str, str]]:
    """(question, answer) per entry: a line "Question? Answer", or a question line followed by its answer lines;
    a line without a question stands alone."""
    entries: list[tuple[str, str]] = []
    for line in (raw.strip() for raw in faq.splitlines()):
        if not line:
            continue
        question, mark, answer = line.partition("?")
        if mark and answer.strip():
            entries.append((question.strip() + "?", answer.strip()))
        elif mark:
            entries.append((line, ""))
        elif entries and not entries[-1][1]:
            entries[-1] = (entries[-1][0], line)
        else:
            entries.append(("", line))
    return [(q, a) for q, a in entries if a]


def sentences(text: str, heading: str = "") -> list[tuple[str, str]]:
    """Reference text as lines a caller can be read, each with the heading it is under: one sentence each, list
    items whole, the markdown marks taken off. A short line without a full stop is a heading (the knowledge
    base writes a section's headings on a line of their own), and a "[source]" line is where the text is from:
    neither is read out."""
    found = []
    for raw in text.splitlines():
        line = re.sub(r"^\s*(#+|[-*•]|\d+[.)])\s*", "", raw).replace("**", "").strip()
        if not line or (line.startswith("[") and line.endswith("]")):
            continue
        if raw.lstrip().startswith("#") or (len(line.split()) <= 8 and line[-1] not in ".!?:;,"):
            heading = line
            continue
        for sentence in _SENTENCE.split(line):
            words = sentence.split()
            if len(words) >= 3:
                found.append((heading, " ".join(words[:_MAX_WORDS])))
    return found


class FactSheet:
    """Every fact of one tenant (and its inline knowledge), each under a key unique in the sheet."""

    def __init__(self, facts: Iterable[tuple[str, str, str]]) -> None:
        self.facts: list[Fact] = []
        taken: set[str] = {NONE}
        for key, text, spoken in facts:
            unique, n = key, 2
            while unique in taken:
                unique, n = f"{key}_{n}", n + 1
            taken.add(unique)
            self.facts.append(Fact(unique, text, spoken))
        self._by_key = {fact.key: fact for fact in self.facts}
        # Pairs of lines that give one service different prices: neither is read alone.
        self.conflicts: list[tuple[Fact, Fact]] = []

    @classmethod
    def of(cls, tenant: TenantDocument, knowledge: str | None = None) -> FactSheet:
        rows: list[tuple[str, str, str]] = []
        # Each labelled with what a caller calls it, so a question in other words still finds it.
        for key, label, value, spoken in (
            ("about", "About us", tenant.description, tenant.description),
            ("address", "Address, where we are located and based", tenant.address, f"We're at {tenant.address}."),
            (
                "phone",
                "Phone number to call us",
                tenant.phone,
                f"Our number is {spoken_number(_digits(tenant.phone))}.",
            ),
            ("website", "Website", tenant.website, f"Our website is {tenant.website}."),
            ("email", "Email address", tenant.email, f"Our email is {tenant.email}."),
        ):
            if value.strip():
                rows.append((key, f"{label}: {value.strip()}", spoken.strip()))
        for day, ranges in tenant.opening_hours().items():
            name = _DAY_NAMES[DAYS.index(day)]
            if ranges:
                rows.append(
                    (
                        f"hours_{name.lower()}",
                        f"{name}: open {_ranges(ranges)}",
                        f"On {name}s we're open {_ranges(ranges)}.",
                    )
                )
            else:
                rows.append((f"hours_{name.lower()}", f"{name}: closed", f"We're closed on {name}s."))
        week = _week(tenant)
        rows.append(("hours", f"Opening hours: {week}", f"We're open {week}."))
        holidays = _holidays(tenant.booking.holidays)
        if holidays:
            rows.append(("holidays", f"Closed on public holidays: {holidays}", f"We're closed on {holidays}."))
        for service in tenant.services:
            rows.append((f"service_{_slug(service.name)}", service_line(service), _spoken_service(service)))
        for question, answer in _faq_entries(tenant.faq):
            rows.append((f"faq_{_slug(question or answer)}", f"{question} {answer}".strip(), answer))
        for heading, sentence in sentences(knowledge or ""):
            rows.append((f"doc_{_slug(sentence)}", f"{heading}: {sentence}" if heading else sentence, sentence))
        sheet = cls(rows)
        sheet.conflicts = _price_conflicts(tenant, sheet.facts)
        return sheet

    def conflicting(self, fact: Fact) -> Fact | None:
        """The line that gives ``fact``'s service another price, if one does."""
        for one, other in self.conflicts:
            if fact in (one, other):
                return other if fact is one else one
        return None

    def get(self, key: str) -> Fact | None:
        return self._by_key.get(key)

    def lines(self) -> str:
        return "\n".join(f"[{fact.key}] {fact.text}" for fact in self.facts)


def _week(tenant: TenantDocument) -> str:
    """The week's hours, days with the same hours together: "Monday to Friday 9 am to 5 pm, Saturday 9 am to
    12 pm; closed Sunday"."""
    groups: list[tuple[list[str], str]] = []
    for day, ranges in tenant.opening_hours().items():
        said = _ranges(ranges)
        if groups and groups[-1][1] == said:
            groups[-1][0].append(_DAY_NAMES[DAYS.index(day)])
        else:
            groups.append(([_DAY_NAMES[DAYS.index(day)]], said))

    def days(names: list[str]) -> str:
        return names[0] if len(names) == 1 else f"{names[0]} to {names[-1]}"

    open_ = [f"{days(names)} {said}" for names, said in groups if said]
    closed = [days(names) for names, said in groups if not said]
    return ", ".join(open_) + (f"; closed {' and '.join(closed)}" if closed else "")


def _price_conflicts(tenant: TenantDocument, facts: Sequence[Fact]) -> list[tuple[Fact, Fact]]:
    """Each service's line paired with an FAQ answer or document sentence that names the service (every word of
    substance in its name) and states amounts, none of them the service's price: two prices for one thing."""
    found = []
    by_key = {fact.key: fact for fact in facts}
    for service in tenant.services:
        listed = by_key.get(f"service_{_slug(service.name)}")
        prices = {value for value, _, _ in amounts(service.price)} | {
            Decimal(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", service.price)
        }
        name = _words(service.name) - _GENERIC
        if listed is None or not prices or not name:
            continue
        for fact in facts:
            if not fact.key.startswith(("faq_", "doc_")):
                continue
            stated = {value for value, _, _ in amounts(fact.spoken)}
            if stated and not stated & prices and _shared(name, _words(fact.spoken)) == len(name):
                found.append((listed, fact))
    return found


def _digits(phone: str) -> str:
    return ("+" if phone.strip().startswith("+") else "") + re.sub(r"\D", "", phone)


def _holidays(iso_days: list[str]) -> str:
    days = []
    for text in iso_days:
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            continue
    return ", ".join(f"{d.day} {d.strftime('%B')}" for d in sorted(days))


def today_fact(tenant: TenantDocument, now: datetime) -> Fact:
    """Whether the business is open at the call's own time, and when it next opens or closes: computed from the
    hours, the holidays and the time zone, never left to the model."""
    hours = tenant.opening_hours()
    holidays = set(tenant.booking.holidays)
    today = now.date()
    if today.isoformat() not in holidays:
        for start, end in hours[DAYS[today.weekday()]]:
            if start <= now.time() < end:
                said = f"We're open now, until {spoken_time(end)} today."
                return Fact("today", f"Now: open until {spoken_time(end)} today", said)
    for ahead in range(0, 15):
        day = today + timedelta(days=ahead)
        if day.isoformat() in holidays:
            continue
        for start, _ in hours[DAYS[day.weekday()]]:
            if ahead == 0 and start <= now.time():
                continue
            when = "today" if ahead == 0 else "tomorrow" if ahead == 1 else f"on {_DAY_NAMES[day.weekday()]}"
            said = f"We're closed right now. We open again {when} at {spoken_time(start)}."
            return Fact("today", f"Now: closed; opens {when} at {spoken_time(start)}", said)
    return Fact("today", "Now: closed", "We're closed right now.")


class FactVectors:
    """The embeddings of sheets' lines, kept per sheet text so a tenant's are computed once, not per call."""

    def __init__(self, embedder: Callable[[], Embedder] | None, size: int = 32) -> None:
        """``embedder``: gets the embedder (loading it the first time, in a worker thread)."""
        self._embedder = embedder
        self._kept: OrderedDict[str, Float32] = OrderedDict()
        self._size = size

    async def of(self, texts: Sequence[str]) -> Float32 | None:
        if self._embedder is None or not texts:
            return None
        key = hashlib.sha256("\n".join(texts).encode()).hexdigest()
        if key not in self._kept:
            embedder = await asyncio.to_thread(self._embedder)
            self._kept[key] = await embedder.embed(list(texts))
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        self._kept.move_to_end(key)
        return self._kept[key]


_HOURS_WORDS = re.compile(r"\b(open|opens|opening|close|closes|closing|shut|hours|until|till)\b", re.I)
_NOW_WORDS = re.compile(r"\b(now|today|tonight|at the moment|currently|still open)\b", re.I)
_DAY_KEYS = {name.lower(): f"hours_{name.lower()}" for name in _DAY_NAMES}
# Words that say what kind of question it is, not what it is about: sharing one with a line is no sign that the
# line answers it ("how much is a kitchen renovation?" is not answered by "how much is a call-out?").
_GENERIC = frozenset(
    re.findall(
        r"\w+",
        "much many cost costs price prices pricing charge charges work works job jobs service services get got need "
        "want like know tell help thing things something someone anyone come out about there here well good able "
        "time times day days offer provide make made take one ones guys",
    )
)
# A line this close in meaning answers the question though they share no word ("where are you based?" and the
# address line); lines further off must share a word of substance with it. Set on the tune businesses
# (README: "Answers from facts").
_CLOSE = 0.45


def words_of(text: str) -> set[str]:
    """The words of substance in ``text``: no stop words, none that only say what kind of question it is."""
    return _words(text) - _GENERIC


def known_words(tenant: TenantDocument) -> set[str]:
    """Every word of substance the business's tenant file uses."""
    texts = [tenant.name, tenant.description, tenant.address, tenant.faq]
    texts += [f"{s.name} {s.description}" for s in tenant.services]
    return set().union(*(_words(text) for text in texts))


def mentions(words: set[str], known: set[str]) -> int:
    """How many of ``words`` are in ``known``, a word matching its own longer forms."""
    return _shared(words, known)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower().replace("'", "")) if w not in _STOP and len(w) > 2}


def _shared(question: set[str], line: set[str]) -> int:
    """Words of substance in both, a word matching its own longer forms ("park", "parking"; "licence",
    "licensed")."""

    def same(a: str, b: str) -> bool:
        short, long = sorted((a, b), key=len)
        return long.startswith(short) if len(short) >= 4 else a == b or (len(a) >= 5 and a[:5] == b[:5])

    substance = question - _GENERIC
    return sum(any(same(word, other) for other in line) for word in substance)


_ASKS_PRICE = re.compile(r"\b(how much|cost|costs|price|prices|charge|charges|fee|fees|rates?)\b", re.I)
_ASKS_LENGTH = re.compile(r"\bhow long\b", re.I)
_LENGTH = re.compile(r"\b(minutes?|hours?|days?|weeks?|half an hour)\b", re.I)


def _kind_bonus(question: str, facts: Sequence[Fact]) -> npt.NDArray[np.float32]:
    """Among lines about the same thing, the one that states what kind of answer the question wants: an amount
    for "how much", a length of time for "how long" ("the clinic costs 18 pounds", not "we run a clinic")."""
    bonus = np.zeros(len(facts), dtype=np.float32)
    for i, fact in enumerate(facts):
        if (_ASKS_PRICE.search(question) and amounts(fact.spoken)) or (
            _ASKS_LENGTH.search(question) and _LENGTH.search(fact.spoken)
        ):
            bonus[i] = 0.1
    return bonus


async def best_fact(question: str, facts: Sequence[Fact], vectors: FactVectors) -> Fact | None:
    """The fact that answers ``question``, or None when none does. Ranked by meaning (the embedder) with a bonus
    for words of substance in common; the day's hours whenever it asks about opening on a named day or now, and
    never another day's. The best is taken when it is close in meaning or shares a word of substance with the
    question; else nothing in the business's material answers it, and the caller is told so."""
    asked = set(_WORD.findall(question.lower()))
    days = [key for day, key in _DAY_KEYS.items() if day in asked or f"{day}s" in asked]
    if days:  # another day's hours never answer a question about this one
        facts = [f for f in facts if not f.key.startswith("hours_") or f.key in days]
    if _HOURS_WORDS.search(question):
        # A named day: its hours; now or today: whether we're open now; "what are your hours?": the week.
        now = _NOW_WORDS.search(question)
        forced = days if days and not now else ["today"] if now or "hours" not in asked else ["hours"]
        found = next((f for f in facts if f.key == forced[0]), None)
        if found is not None:
            return found
    if not facts:
        return None
    words = _words(question) - _GENERIC
    said = [_words(f.text) for f in facts]
    shared = [_shared(words, line) for line in said]
    # A word of substance that nothing in the material has ("solar", "roof", "Spanish") says the question is
    # about something the business never mentions: only a line close in meaning may answer it then.
    known = set().union(*said)
    unknown = _shared(words, known) < len(words)
    lines = await vectors.of([f.text for f in facts])
    query = await vectors.of([question])
    meaning = (lines @ query[0]) if lines is not None and query is not None else np.zeros(len(facts), np.float32)
    score = meaning + np.minimum(0.3, 0.1 * np.array(shared, dtype=np.float32)) + _kind_bonus(question, facts)
    best = int(np.argmax(score))
    return facts[best] if meaning[best] >= _CLOSE or (shared[best] and not unknown) else None


def passage_facts(passages: Sequence[Passage]) -> list[Fact]:
    """Retrieved passages' sentences, each matched with its heading."""
    return [
        Fact(f"passage_{n}", f"{heading}: {sentence}" if heading else sentence, sentence)
        for n, (heading, sentence) in enumerate(
            (found for p in passages for found in sentences(p.text, p.heading.replace(" > ", ", "))), start=1
        )
    ]
