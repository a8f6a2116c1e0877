"""Facts: how often the receptionist's answer to a fact question states the business's figure, and never a wrong one.

    .venv/bin/python -m bench.facts [--llm qwen2.5-coder-0.5b] [--times 20] [--runs 1]

Each question (a price, a duration, opening hours, something in the FAQ) is asked as the first turn of a typed
call to one of the bundled businesses, at several call start times: the prompt holds the call's start time, and
the reply is sampled from a generator seeded by the prompt, so one question asked at one time says little.
A reply is right when it states the figure the business gave and no figure the business never gave; it made
one up when it states an amount, or any figure, the business never gave (a price "about 30 pounds" copied from a
30-minute duration; "we close at 4 pm" from an example the prompt once had); neither is an "I don't know", or true
figures that answer something else. Prints a table and writes bench/results/facts.json; ``--rescore`` scores an earlier
run's replies again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from appliance import logs
from appliance.runtime import Runtime
from bench.common import DENTIST, PLUMBER, SALON, TENANT_FILES, bench_runtime, save_results
from core.dialogue.figures import NUMBER_WORDS
from core.tenants.document import TenantDocument, load_tenant_file


@dataclass(frozen=True)
class Question:
    tenant: str
    kind: str  # price, duration, hours, faq
    said: str
    right: str  # a pattern the reply must match: the business's figure
    allowed: frozenset[str]  # figures the reply may state besides the business's own ("1.5" hours, "14":00)


def q(tenant: str, kind: str, said: str, right: str, *allowed: str) -> Question:
    return Question(tenant, kind, said, right, frozenset(allowed))


# The figures are the tenant files': examples/tenants/example.toml and tests/data/tenants/*.toml.
_AM, _PM = r"(:00)? ?(am|a\.m\.|in the morning)", r"(:00)? ?(pm|p\.m\.|in the (afternoon|evening))"
# fmt: off
QUESTIONS = [
    q(PLUMBER, "price", "How much is your call-out fee?", r"\$?95\b", "95", "140", "260"),
    q(PLUMBER, "price", "What do you charge to unblock a drain?", r"\$?189\b", "189", "95", "90"),
    q(PLUMBER, "price", "how much is it to get a hot water system serviced", r"\$?220\b", "220", "120", "2", "95"),
    q(PLUMBER, "duration", "How long does a gas appliance installation take?", r"\b(180|3|three) (minutes|hours)",
      "180", "3"),
    q(PLUMBER, "hours", "What time do you open on Saturdays?", rf"\b8{_AM}", "8", "12"),
    q(PLUMBER, "faq", "What's your licence number?", r"54871", "54871"),
    q(DENTIST, "price", "How much is teeth whitening?", r"\$?350\b", "350", "90"),
    q(DENTIST, "price", "What does a new patient exam cost without insurance?", r"\$?185\b", "185", "60", "15"),
    q(DENTIST, "duration", "How long is a whitening appointment?",
      r"\b90 minutes|hour and a half|(one|1) and a half hours|1\.5 hours", "90", "1.5", "1", "350"),
    q(DENTIST, "hours", "What time do you close on Fridays?", rf"\b2{_PM}", "2", "8", "14"),
    q(DENTIST, "faq", "How early should a new patient get there?", r"\b15\b|fifteen", "15"),
    q(DENTIST, "faq", "Above what amount can I pay for a treatment in instalments?", r"\$?500\b", "500"),
    q(SALON, "price", "How much is a men's cut?", r"£?28\b", "28", "30"),
    q(SALON, "price", "how much do you charge for a women's cut and finish", r"£?52\b", "52", "60", "1"),
    q(SALON, "price", "How much is a full colour?", r"£?85\b", "85", "120", "2", "48"),
    q(SALON, "duration", "How long is a men's cut?", r"\b30 minutes|half an hour|half-hour", "30", "28"),
    q(SALON, "hours", "What time do you close on Thursdays?", rf"\b8{_PM}", "8", "9:30", "20"),
    q(SALON, "faq", "How long before a colour do I need a patch test?", r"\b48 hours|two days|2 days", "48", "2"),
]
# fmt: on

_ALTERNATIVES = "|".join(NUMBER_WORDS)
_NUMBER = re.compile(rf"\d+(?:[.:,]\d+)*|\b(?:{_ALTERNATIVES})(?:[- ](?:{_ALTERNATIVES}))?\b")


def numbers(text: str) -> list[str]:
    """The figures a reply states, written as digits: '$1,200.00' -> '1200', 'twenty-eight' -> '28', '9:30' and
    '8:00' -> '9:30' and '8'. 'one' and 'an' are left out: "one moment", "an hour" state no figure."""
    found = []
    for match in _NUMBER.finditer(text.lower()):
        token = match.group()
        if token[0].isdigit():
            token = token.replace(",", "")
            token = re.sub(r"[.:]00$", "", token)
        else:
            parts = re.split(r"[- ]", token)
            if token == "one" or not all(p in NUMBER_WORDS for p in parts):
                continue
            token = str(sum(NUMBER_WORDS[p] for p in parts))
        found.append(token)
    return found


_MONEY = re.compile(
    rf"[$£€]\s?(\d[\d,]*(?:\.\d+)?)|\b(\d[\d,]*(?:\.\d+)?|(?:{_ALTERNATIVES})(?:[- ](?:{_ALTERNATIVES}))?)"
    r"\s?(?:pounds?|dollars?|euros?|quid|bucks)\b",
    re.IGNORECASE,
)


def money(text: str) -> list[str]:
    """The money amounts ``text`` states, as ``numbers`` writes them."""
    return [found for m in _MONEY.finditer(text) for found in numbers(m.group(1) or m.group(2))]


def figures_of(tenant: TenantDocument) -> tuple[set[str], set[str]]:
    """What the business gives: its money amounts, and every figure (amounts, durations in minutes and hours,
    opening and closing times, numbers in its facts)."""
    texts = [tenant.description, tenant.faq, tenant.address, tenant.phone]
    texts += [f"{s.price} {s.description}" for s in tenant.services]
    amounts = {a for t in texts for a in money(t)} | {n for s in tenant.services for n in numbers(s.price)}
    figures = {n for t in texts for n in numbers(t)}
    for service in tenant.services:
        hours = service.duration_minutes / 60
        figures |= {str(service.duration_minutes)} | ({f"{hours:g}"} if service.duration_minutes % 30 == 0 else set())
    for ranges in tenant.opening_hours().values():
        for moment in (t for r in ranges for t in r):
            hour = moment.hour % 12 or 12
            figures |= {str(moment.hour), f"{hour}:{moment.minute:02d}" if moment.minute else str(hour)}
    return amounts, figures


def score(question: Question, reply: str, business: tuple[set[str], set[str]]) -> str:
    """right: the business's figure, and nothing the business never gave; made_up: an amount, or a figure, the
    business never gave ("about 30 pounds" from a 30-minute duration, "we close at 4 pm" from an example the
    prompt once had); other: neither (an "I don't know", or true figures that answer something else)."""
    amounts, figures = business
    if any(a not in amounts for a in money(reply)) or any(n not in figures | question.allowed for n in numbers(reply)):
        return "made_up"
    return "right" if re.search(question.right, reply, re.IGNORECASE) else "other"


def start_times(count: int, zone: str) -> list[datetime]:
    """``count`` call start times, each on a different day and minute, in business hours and out of them."""
    first = datetime(2026, 12, 7, 8, 3, tzinfo=ZoneInfo(zone))
    return [first + timedelta(days=i, hours=(5 * i) % 12, minutes=(17 * i) % 60) for i in range(count)]


async def first_reply(runtime: Runtime, question: Question, moment: datetime) -> str:
    """What the caller hears in reply to ``question``, asked first thing in a call that starts at ``moment``:
    the call's dialogue, without the audio around it (the words are the same; the bench runs in half the time)."""
    session = runtime.new_call(
        question.tenant, channel="simulated", caller="simulator", callee=None, rate=8000, now=lambda: moment
    )
    try:
        await session.dialogue.warm()
        done = await session.dialogue.respond(question.said, 0, lambda event: None)
        await session.dialogue.conversation.background_done()
    finally:
        await session.end("benchmark")
    return done.text


async def run_model(llm: str, times: int, runs: int) -> dict[str, Any]:
    async with bench_runtime(llm, TENANT_FILES, warm=(PLUMBER, DENTIST, SALON)) as runtime:
        business = {t: figures_of(runtime.tenants.get(t)) for t in (PLUMBER, DENTIST, SALON)}
        rows = []
        for _ in range(runs):
            for question in QUESTIONS:
                zone = runtime.tenants.get(question.tenant).timezone
                for moment in start_times(times, zone):
                    reply = await first_reply(runtime, question, moment)
                    rows.append(
                        {
                            "tenant": question.tenant,
                            "kind": question.kind,
                            "said": question.said,
                            "at": moment.isoformat(timespec="minutes"),
                            "reply": reply,
                            "score": score(question, reply, business[question.tenant]),
                        }
                    )
                print(f"  {len(rows)} replies: {question.said}", file=sys.stderr, flush=True)
    return {"llm": llm, "times": times, "runs": runs, **summary(rows), "rows": rows}


SCORES = ("right", "made_up", "other")


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def counts(subset: list[dict[str, Any]]) -> dict[str, int]:
        return {s: sum(r["score"] == s for r in subset) for s in SCORES} | {"n": len(subset)}

    return {
        "all": counts(rows),
        "by_tenant": {t: counts([r for r in rows if r["tenant"] == t]) for t in (PLUMBER, DENTIST, SALON)},
        "by_kind": {k: counts([r for r in rows if r["kind"] == k]) for k in ("price", "duration", "hours", "faq")},
        "by_question": {
            f"{q.tenant}: {q.said}": counts([r for r in rows if r["said"] == q.said and r["tenant"] == q.tenant])
            for q in QUESTIONS
        },
    }


def table(model: dict[str, Any]) -> str:
    def row(name: str, c: dict[str, int]) -> str:
        n = max(1, c["n"])
        return f"| {name} | {c['n']} | " + " | ".join(f"{c[s] / n:.0%}" for s in SCORES) + " |"

    lines = [
        "| questions | replies | right figure, nothing made up | a figure made up | neither |",
        "|---|---|---|---|---|",
        row(f"all ({model['llm']})", model["all"]),
    ]
    lines += [row(f"{k}", c) for k, c in model["by_kind"].items()]
    lines += [row(f"{t}", c) for t, c in model["by_tenant"].items()]
    lines += ["", "| question | right | made up | neither |", "|---|---|---|---|"]
    lines += [f"| {name} | " + " | ".join(str(c[s]) for s in SCORES) + " |" for name, c in model["by_question"].items()]
    return "\n".join(lines)


def rescore(path: Path) -> dict[str, Any]:
    """The replies of an earlier run, scored again (as this file now scores them)."""
    model = json.loads(path.read_text())
    tenants = {tenant.id: tenant for tenant in map(load_tenant_file, TENANT_FILES)}
    questions = {(q.tenant, q.said): q for q in QUESTIONS}
    rows = [r for r in model["rows"] if (r["tenant"], r["said"]) in questions]
    for r in rows:
        r["score"] = score(questions[r["tenant"], r["said"]], r["reply"], figures_of(tenants[r["tenant"]]))
    return {**model, **summary(rows), "rows": rows}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llm", default="qwen2.5-coder-0.5b", help="catalog name")
    parser.add_argument("--times", type=int, default=20, help="call start times each question is asked at")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", help="ask only the questions of this kind (price, ...) or containing these words")
    parser.add_argument("--rescore", type=Path, help="score the replies in this results file again; ask nothing")
    args = parser.parse_args()
    logs.configure("error", None)
    if args.only:
        only = args.only.lower()
        QUESTIONS[:] = [q for q in QUESTIONS if only == q.kind or only in q.said.lower()]
    if args.rescore:
        model = rescore(args.rescore)
        print(table(model))
        _made_up(model)
        return
    model = await run_model(args.llm, args.times, args.runs)
    print(table(model))
    _made_up(model)
    save_results("facts", model)


def _made_up(model: dict[str, Any]) -> None:
    seen = set()
    for r in model["rows"]:
        if r["score"] == "made_up" and (r["said"], r["reply"]) not in seen:
            seen.add((r["said"], r["reply"]))
            times = sum(x["said"] == r["said"] and x["reply"] == r["reply"] for x in model["rows"])
            print(f"  made up ({r['tenant']}, {times}x): {r['said']} -> {r['reply'][:200]}")


if __name__ == "__main__":
    asyncio.run(main())
