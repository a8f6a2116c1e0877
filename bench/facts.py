"""Facts: how often the receptionist's answer to a fact question states the business's figure, and never a wrong one.

    .venv/bin/python bench/facts.py [--llm qwen2.5-coder-0.5b] [--times 24] [--runs 1]

Each question (a price, a duration, opening hours, something in the FAQ) is asked as the first turn of a typed
call to one of the bundled businesses, at several call start times: the prompt holds the call's start time, and
the reply is sampled from a generator seeded by the prompt, so one question asked at one time says little.
A reply is right when it states the figure the business gave and no figure the business did not give for it
(a price "about 30 pounds" copied from a 30-minute duration is wrong); it has no figure when it states none (a
"I don't know", or a question back). Prints a table and writes bench/results/facts.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appliance import logs  # noqa: E402
from appliance.calls.simulate import CallerTurn, simulate_call  # noqa: E402
from appliance.runtime import Runtime  # noqa: E402
from appliance.settings import load_settings  # noqa: E402
from appliance.tenants.document import load_tenant_file  # noqa: E402

TENANTS = [
    ROOT / "examples" / "tenants" / "example.toml",
    *sorted((ROOT / "tests" / "data" / "tenants").glob("*.toml")),
]
PLUMBER, DENTIST, SALON = "example", "lakeside-dental", "fern-and-fade"


@dataclass(frozen=True)
class Question:
    tenant: str
    kind: str  # price, duration, hours, faq
    said: str
    right: str  # a pattern the reply must match: the business's figure
    allowed: frozenset[str]  # every number the reply may state: the figure, and true ones that go with it


def q(tenant: str, kind: str, said: str, right: str, *allowed: str) -> Question:
    return Question(tenant, kind, said, right, frozenset(allowed))


# The figures are the tenant files': examples/tenants/example.toml and tests/data/tenants/*.toml.
QUESTIONS = [
    q(PLUMBER, "price", "How much is your call-out fee?", r"\$?95\b", "95", "140", "260"),
    q(PLUMBER, "price", "What do you charge to unblock a drain?", r"\$?189\b", "189", "95", "90"),
    q(PLUMBER, "price", "how much is it to get a hot water system serviced", r"\$?220\b", "220", "120", "2", "95"),
    q(
        PLUMBER,
        "duration",
        "How long does a gas appliance installation take?",
        r"\b(180|3|three) (minutes|hours)",
        "180",
        "3",
    ),
    q(PLUMBER, "hours", "What time do you open on Saturdays?", r"\b8(:00)? ?(am|a\.m\.|in the morning)", "8", "12"),
    q(PLUMBER, "faq", "What's your licence number?", r"54871", "54871"),
    q(PLUMBER, "faq", "Do you charge extra to come out to Epping?", r"\$?40\b", "40", "95"),
    q(DENTIST, "price", "How much is teeth whitening?", r"\$?350\b", "350", "90"),
    q(DENTIST, "price", "What does a new patient exam cost without insurance?", r"\$?185\b", "185", "60", "15"),
    q(
        DENTIST,
        "duration",
        "How long is a whitening appointment?",
        r"\b90 minutes|(an|one) hour and a half|1\.5 hours|one and a half hours",
        "90",
        "1.5",
        "350",
    ),
    q(
        DENTIST,
        "hours",
        "What time do you close on Fridays?",
        r"\b2(:00)? ?(pm|p\.m\.|in the afternoon)",
        "2",
        "8",
        "14",
    ),
    q(DENTIST, "hours", "How late are you open on Tuesday?", r"\b7(:00)? ?(pm|p\.m\.|in the evening)", "7", "8", "19"),
    q(DENTIST, "faq", "How early should a new patient get there?", r"\b15\b|fifteen", "15"),
    q(DENTIST, "faq", "Above what amount can I pay for a treatment in instalments?", r"\$?500\b", "500"),
    q(SALON, "price", "How much is a men's cut?", r"£?28\b", "28", "30"),
    q(SALON, "price", "how much do you charge for a women's cut and finish", r"£?52\b", "52", "60", "1"),
    q(SALON, "price", "What does a skin fade cost?", r"£?32\b", "32"),
    q(SALON, "price", "How much is a full colour?", r"£?85\b", "85", "120", "2", "48"),
    q(
        SALON,
        "duration",
        "How long does a full colour take?",
        r"\b(120 minutes|2 hours|two hours)",
        "120",
        "2",
        "85",
        "48",
    ),
    q(SALON, "duration", "How long is a men's cut?", r"\b30 minutes|half an hour|half-hour", "30", "28"),
    q(
        SALON,
        "hours",
        "What time do you close on Thursdays?",
        r"\b8(:00)? ?(pm|p\.m\.|in the evening)",
        "8",
        "9:30",
        "20",
    ),
    q(SALON, "faq", "How long before a colour do I need a patch test?", r"\b48 hours|two days|2 days", "48", "2"),
]

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_WORDS = {w: n for n, w in enumerate(_ONES)} | {w: 10 * n for n, w in enumerate(_TENS, start=2)}
_ALTERNATIVES = "|".join(_WORDS)
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
            if token == "one" or not all(p in _WORDS for p in parts):
                continue
            token = str(sum(_WORDS[p] for p in parts))
        found.append(token)
    return found


def score(question: Question, reply: str) -> str:
    stated = numbers(reply)
    if any(n not in question.allowed for n in stated):
        return "wrong"
    return "right" if re.search(question.right, reply, re.IGNORECASE) else "none"


def start_times(count: int, zone: str) -> list[datetime]:
    """``count`` call start times, each on a different day and minute, in business hours and out of them."""
    first = datetime(2026, 12, 7, 8, 3, tzinfo=ZoneInfo(zone))
    return [first + timedelta(days=i, hours=(5 * i) % 12, minutes=(17 * i) % 60) for i in range(count)]


def fixed(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


async def run_model(llm: str, times: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            None,
            {
                "APPLIANCE_DATA_DIR": tmp,
                "APPLIANCE_MODELS__DIR": str(ROOT / "data" / "models"),
                "APPLIANCE_MODELS__LLM": llm,
            },
        )
        runtime = Runtime.open(settings)
        for path in TENANTS:
            runtime.tenants.save(load_tenant_file(path), replace=True, actor="bench")
        await runtime.models.load(("vad", "stt", "llm", "tts"))
        for tenant in (PLUMBER, DENTIST, SALON):
            await runtime.warm_tenant(tenant)
        rows = []
        for _ in range(runs):
            for question in QUESTIONS:
                zone = runtime.tenants.get(question.tenant).timezone
                for moment in start_times(times, zone):
                    session = runtime.new_call(
                        question.tenant, channel="simulated", caller="simulator", callee=None, rate=8000,
                        now=fixed(moment),
                    )  # fmt: skip
                    result = await simulate_call(session, [CallerTurn(text=question.said)], realtime=False)
                    reply = result.turns[1].reply if len(result.turns) > 1 else ""
                    rows.append(
                        {
                            "tenant": question.tenant,
                            "kind": question.kind,
                            "said": question.said,
                            "at": moment.isoformat(timespec="minutes"),
                            "reply": reply,
                            "score": score(question, reply),
                        }
                    )
        runtime.close()
    return {"llm": llm, "times": times, "runs": runs, **summary(rows), "rows": rows}


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def counts(subset: list[dict[str, Any]]) -> dict[str, int]:
        return {s: sum(r["score"] == s for r in subset) for s in ("right", "wrong", "none")} | {"n": len(subset)}

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
        return f"| {name} | {c['n']} | {c['right'] / n:.0%} | {c['wrong'] / n:.0%} | {c['none'] / n:.0%} |"

    lines = ["| questions | replies | right figure, none wrong | a wrong figure | no figure |", "|---|---|---|---|---|"]
    lines.append(row(f"all ({model['llm']})", model["all"]))
    lines += [row(f"{k}", c) for k, c in model["by_kind"].items()]
    lines += [row(f"{t}", c) for t, c in model["by_tenant"].items()]
    lines += ["", "| question | right | wrong | none |", "|---|---|---|---|"]
    lines += [f"| {name} | {c['right']} | {c['wrong']} | {c['none']} |" for name, c in model["by_question"].items()]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llm", default="qwen2.5-coder-0.5b", help="catalog name")
    parser.add_argument("--times", type=int, default=24, help="call start times each question is asked at")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", help="ask only the questions containing these words")
    args = parser.parse_args()
    logs.configure("error", None)
    if args.only:
        QUESTIONS[:] = [q for q in QUESTIONS if args.only.lower() in q.said.lower()]
    model = await run_model(args.llm, args.times, args.runs)
    print(table(model))
    for r in model["rows"]:
        if r["score"] == "wrong":
            print(f"  wrong ({r['tenant']}, {r['at']}): {r['said']} -> {r['reply'][:200]}")
    out = ROOT / "bench" / "results" / "facts.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, indent=2, default=str) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
