"""Questions answered from the business's facts: the sheet built from a tenant file and its documents, the
answer chosen for a question (with the real embedder), and what is said when nothing answers it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from appliance.runtime import Runtime
from bench.common import EXAMPLE_TENANT
from core.dialogue.dialogue import acknowledges_only
from core.dialogue.facts import FactSheet, FactVectors, best_fact, passage_facts, sentences, today_fact
from core.knowledge import Passage
from core.tenants.document import TenantDocument, load_tenant_file, parse_tenant
from tests.conftest import TENANTS

PLUMBER = load_tenant_file(EXAMPLE_TENANT)
DENTIST = load_tenant_file(TENANTS / "lakeside-dental.toml")
MELBOURNE = ZoneInfo("Australia/Melbourne")
NOTES = """[notes.md]
Wheel truing clinic
Every Saturday morning we run a wheel truing clinic where you learn to true your own wheels. Tea is included.
The clinic costs 18 pounds per person and lasts two hours.
Where we don't go
We do not collect bikes from Leith or Portobello.
"""


@pytest.fixture(scope="module")
def vectors(runtime: Runtime) -> FactVectors:
    return FactVectors(runtime.models.embedder)


async def _answer(tenant: TenantDocument, question: str, vectors: FactVectors, knowledge: str | None = None) -> str:
    now = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo(tenant.timezone))  # a Monday morning
    facts = [*FactSheet.of(tenant, knowledge).facts, today_fact(tenant, now)]
    found = await best_fact(question, facts, vectors)
    return found.key if found is not None else "none"


def test_the_sheet_holds_every_fact_under_its_own_key() -> None:
    sheet = FactSheet.of(PLUMBER)
    keys = [fact.key for fact in sheet.facts]
    assert len(keys) == len(set(keys))
    assert sheet.get("hours_sunday") is not None and "closed" in sheet.get("hours_sunday").spoken  # type: ignore[union-attr]
    week = sheet.get("hours")
    assert week is not None
    assert week.spoken == (
        "We're open Monday to Thursday 7:30 am to 5 pm, Friday 7:30 am to 4 pm, Saturday 8 am to midday; closed Sunday."
    )
    drain = sheet.get("service_blocked_drain_clearing")
    assert drain is not None and "from $189" in drain.spoken and "an hour and a half" in drain.spoken
    # An FAQ entry is read from its answer, in the business's words.
    pay = sheet.get("faq_pay")
    assert pay is not None and pay.spoken == "Card or bank transfer on completion. We don't take cash."


def test_documents_are_read_a_sentence_at_a_time_under_their_headings() -> None:
    found = sentences(NOTES)
    assert ("Wheel truing clinic", "The clinic costs 18 pounds per person and lasts two hours.") in found
    assert ("Where we don't go", "We do not collect bikes from Leith or Portobello.") in found
    assert all(not text.startswith("[") for _, text in found)
    passages = passage_facts([Passage("Cargo bikes take a full day. They cost 140 pounds.", "site", "Cargo", 1.0)])
    assert [p.spoken for p in passages] == ["Cargo bikes take a full day.", "They cost 140 pounds."]
    assert passages[1].text == "Cargo: They cost 140 pounds."


def test_whether_we_are_open_now_is_computed_from_the_hours_holidays_and_the_call_time() -> None:
    assert today_fact(PLUMBER, datetime(2026, 12, 7, 10, 0, tzinfo=MELBOURNE)).spoken == (
        "We're open now, until 5 pm today."
    )
    assert today_fact(PLUMBER, datetime(2026, 12, 5, 13, 0, tzinfo=MELBOURNE)).spoken == (
        "We're closed right now. We open again on Monday at 7:30 am."
    )
    # 25 and 26 December are holidays: the next opening is the 28th, a Monday.
    assert today_fact(PLUMBER, datetime(2026, 12, 24, 18, 0, tzinfo=MELBOURNE)).spoken == (
        "We're closed right now. We open again on Monday at 7:30 am."
    )
    closed_all_week = parse_tenant({"id": "shut", "name": "Shut", "timezone": "UTC", "hours": {}})
    assert today_fact(closed_all_week, datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("UTC"))).spoken == (
        "We're closed right now."
    )


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("How much is your call-out fee?", "faq_much_call_out"),
        ("What time do you open on Saturdays?", "hours_saturday"),
        ("are you open right now", "today"),
        ("What are your opening hours?", "hours"),
        ("Do you do work out in Thornbury?", "faq_suburbs_cover"),
        ("What's your licence number?", "faq_licensed"),
        ("whereabouts are you located", "address"),
        ("Can I pay cash?", "faq_pay"),
    ],
)
async def test_a_question_is_answered_by_the_fact_that_answers_it(
    question: str, key: str, vectors: FactVectors
) -> None:
    assert await _answer(PLUMBER, question, vectors) == key


@pytest.mark.parametrize(
    "question",
    [
        "Do you install solar panels?",  # "install" is in the gas fitting line; solar panels are nowhere
        "Do you do roof repairs?",
        "how much is a kitchen renovation",  # a price, but not of anything the business lists
        "Can I bring my dog?",
    ],
)
async def test_a_question_nothing_answers_gets_no_fact(question: str, vectors: FactVectors) -> None:
    assert await _answer(PLUMBER, question, vectors) == "none"


async def test_a_named_day_is_never_answered_with_another_days_hours(vectors: FactVectors) -> None:
    for day in ("Monday", "Friday", "Sunday"):
        assert await _answer(DENTIST, f"are you open on {day}?", vectors) == f"hours_{day.lower()}"
        assert await _answer(DENTIST, f"what time do you close {day.lower()}s", vectors) == f"hours_{day.lower()}"


async def test_documents_answer_with_the_sentence_that_states_what_was_asked(vectors: FactVectors) -> None:
    shop = parse_tenant({"id": "spokes", "name": "Spokes", "timezone": "Europe/London"})
    assert await _answer(shop, "How much does the wheel truing clinic cost?", vectors, NOTES) == (
        "doc_clinic_costs_pounds"
    )
    assert await _answer(shop, "do you pick up bikes from Portobello?", vectors, NOTES) == "doc_collect_bikes_leith"


async def test_without_an_embedder_questions_are_matched_by_their_words() -> None:
    words_only = FactVectors(None)
    assert await _answer(PLUMBER, "What's your licence number?", words_only) == "faq_licensed"
    assert await _answer(PLUMBER, "Do you install solar panels?", words_only) == "none"


@pytest.mark.parametrize("reply", ["Sure.", "Okay!", "Of course.", "Great.", "No problem.", "Sure thing"])
def test_an_acknowledgement_is_no_answer_to_a_request(reply: str) -> None:
    request = "Hi, my kitchen tap has been dripping all week. Can someone come out on Tuesday morning?"
    expected = reply != "Sure thing"  # "Sure thing" is not in the list: a small model's other words pass
    assert acknowledges_only(reply, request) is expected
    assert acknowledges_only(reply, "I'd like someone to look at my hot water") is expected
    # To thanks or a plain statement, an acknowledgement is an answer.
    assert not acknowledges_only(reply, "Thanks, that's all good")
    # A reply that says something is an answer, whatever the caller asked.
    assert not acknowledges_only("Sure, I can take a message.", request)


def test_two_prices_for_one_service_are_a_conflict_and_neither_is_read_alone() -> None:
    salon = parse_tenant(
        {
            "id": "two-prices",
            "name": "Two Prices",
            "timezone": "Europe/London",
            "services": [{"name": "Men's cut", "price": "£30"}, {"name": "Full colour", "price": "£85"}],
            "faq": "How much is a men's cut? A men's cut is 28 pounds.\nA full colour is 85 pounds.",
        }
    )
    sheet = FactSheet.of(salon, "Men's cut\nOur barbers do a men's cut for 26 pounds on Tuesdays.")
    pairs = {(one.key, other.key) for one, other in sheet.conflicts}
    assert pairs == {("service_mens_cut", "faq_much_mens_cut"), ("service_mens_cut", "doc_barbers_mens_cut")}
    cut = sheet.get("service_mens_cut")
    assert cut is not None and sheet.conflicting(cut) is not None
    colour = sheet.get("service_full_colour")
    assert colour is not None and sheet.conflicting(colour) is None  # the FAQ agrees with the list
    # The bundled businesses have none.
    assert FactSheet.of(PLUMBER).conflicts == [] and FactSheet.of(DENTIST).conflicts == []
