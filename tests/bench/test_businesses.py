"""The held-out material is honest and complete (fast, no models): every tenant file loads, every calls file parses,
every expectation can be checked against what the business wrote, and the split covers each business once."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from bench.material import (
    CALL_TIME,
    KINDS,
    Business,
    business_ids,
    load_business,
    load_split,
    material_text,
    site_pages,
)
from core.tenants.document import normalise_number

IDS = business_ids()
# Kinds every business's calls must cover; an emergency only where the business has emergency phrases.
ALWAYS = set(KINDS) - {"emergency"}


def _flat(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.fixture(scope="module", params=IDS)
def business(request: pytest.FixtureRequest) -> Business:
    return load_business(request.param)


def test_there_are_eight_businesses() -> None:
    assert len(IDS) == 8, IDS


def test_the_split_covers_every_business_exactly_once() -> None:
    split = load_split()
    named = split.tune + split.held_out
    assert sorted(named) == IDS, "split.toml must name every business in bench/data/businesses once"
    assert len(set(named)) == len(named)
    assert len(split.tune) == len(split.held_out) == 4
    # The large catalogue (retrieval mode) is never tuned on.
    retrieval = [b for b in IDS if load_business(b).calls.knowledge == "retrieval"]
    assert retrieval and set(retrieval) <= set(split.held_out)


def test_businesses_differ_in_zone_and_number() -> None:
    businesses = [load_business(b) for b in IDS]
    assert len({b.tenant.timezone for b in businesses}) == len(businesses)
    numbers = [normalise_number(n) for b in businesses for n in b.tenant.numbers]
    assert len(set(numbers)) == len(numbers), "one box answers them all: each number belongs to one business"


def test_tenant_file_and_calls(business: Business) -> None:
    tenant, calls = business.tenant, business.calls.calls
    assert tenant.id == business.id
    assert len(calls) >= 20
    ids = [c.id for c in calls]
    assert len(set(ids)) == len(ids), "call ids are unique within a business"
    kinds = {c.kind for c in calls}
    assert kinds >= ALWAYS, f"{business.id} has no call of kind {sorted(ALWAYS - kinds)}"
    if tenant.emergency.phrases:
        assert "emergency" in kinds
    assert site_pages(business), f"{business.id} has no site pages"
    for call in calls:
        assert call.turns and all(t.strip() for t in call.turns), call.id
        for field in ("expect", "forbid", "absent"):
            re.compile(getattr(call, field))  # every pattern compiles


def test_expectations_are_in_the_material(business: Business) -> None:
    """A fact's expected answer, and the words a negative's answer rests on, are in what the business wrote; an
    unanswerable question really is not answered there."""
    text = material_text(business)
    flat = _flat(text)
    for call in business.calls.calls:
        if call.kind == "fact":
            assert call.expect, call.id
            found = re.search(call.expect, text, re.I)
            assert found, f"{business.id}/{call.id}: /{call.expect}/ is not in the material"
        if call.kind in ("fact", "negative"):
            assert call.evidence, f"{business.id}/{call.id} needs the material's words as evidence"
            assert _flat(call.evidence) in flat, f"{business.id}/{call.id}: {call.evidence!r} is not in the material"
        if call.kind == "negative":
            assert call.expect, call.id
        if call.kind == "unanswerable":
            assert call.absent, f"{business.id}/{call.id} needs an absent pattern"
            said = re.search(call.absent, text, re.I)
            assert said is None, f"{business.id}/{call.id}: the material does say {said.group()!r}"
        if call.kind == "wrong_number":
            assert call.expect, call.id


def test_task_calls_can_be_completed(business: Business) -> None:
    """Each booking names its day and a caller who can answer for it; each cancel has a booking to cancel, of a
    service the business has, in its opening hours and after the call."""
    tenant = business.tenant
    services = {s.name for s in tenant.services}
    for call in business.calls.calls:
        if call.kind == "booking":
            day = date.fromisoformat(call.day)
            assert day > date(*CALL_TIME[:3]), call.id
            assert call.caller.name and call.caller.phone and call.caller.when, call.id
            assert not call.service or call.service in services, call.id
            assert business.caller_id(call) or call.caller.phone != "caller_id", call.id
        if call.kind == "cancel":
            assert call.seed is not None and call.seed.service in services, call.id
            start = datetime.fromisoformat(call.seed.start)
            assert start > datetime(*CALL_TIME), call.id
            assert tenant.open_at(start.date(), start.time()), f"{call.id}: the seeded booking is outside hours"
            assert call.caller.name, call.id
        if call.kind in ("lead", "message"):
            assert call.caller.name and call.caller.phone, call.id


def test_inline_businesses_are_small_and_the_catalogue_is_large(business: Business) -> None:
    """A rough guard on the knowledge mode (the real count is in LLM tokens, at ingest: bench/answers.py prints it):
    inline knowledge must stay well under kb.inline_tokens (4,000), the catalogue well over it."""
    words = sum(len(re.findall(r"\S+", p.read_text(encoding="utf-8"))) for p in site_pages(business))
    if business.calls.knowledge == "retrieval":
        assert words > 4000, words
    else:
        assert words < 2000, words


# Replies that state nothing a call forbids: the flow's questions and offers, and a plain "we don't".
NEUTRAL = (
    "Can I have your name, please?",
    "What day and time would suit you?",
    "Is plus 1, 4 1 6, 5 5 5, 0 1 0 0 the best number to reach you on?",
    "I'm sorry, I don't know that. Would you like me to take a message so the team can get back to you?",
    "There's no one available to take your call right now. Can I take a message for the team?",
    "Of course. I'm putting you through to someone from the team now, please hold.",
    "Sorry, I can't share that. Is there anything I can help you with?",
    "We do not do that, sorry.",
)


def test_forbidden_patterns_spare_neutral_replies(business: Business) -> None:
    """A call's ``forbid`` counts a false fact: it must not match the flow's own neutral lines, nor the material's
    negative said back (two held-out patterns did: "We do not direct bill WSIB…" and "Can I have your name?")."""
    for call in business.calls.calls:
        if not call.forbid:
            continue
        for reply in (*NEUTRAL, call.evidence if call.kind == "negative" else ""):
            found = re.search(call.forbid, reply, re.I) if reply else None
            assert found is None, f"{business.id}/{call.id}: /{call.forbid}/ matches {reply!r}"
