"""How bench/answers.py scores a call (fast, no models): the caller's answers to the assistant's questions,
replies that only acknowledge, questions asked three times, and figures nobody gave."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bench.answers import AFFIRM, DONT_KNOW, OFFER, Known, false_figures, loops, non_answers, respond
from bench.material import Call, Caller
from core.records import TurnRecord


def _turns(*pairs: tuple[str | None, str]) -> list[TurnRecord]:
    now = datetime(2026, 12, 15, tzinfo=UTC)
    return [TurnRecord(idx=i, started_at=now, source="text", caller=c, reply=r) for i, (c, r) in enumerate(pairs)]


CALL = Call(
    id="b",
    kind="booking",
    turns=["hi"],
    caller=Caller(name="Aroha Ngata", phone="021 555 0172", when="Thursday at 9am", service="fault finding"),
)


def test_the_caller_answers_what_was_asked() -> None:
    assert respond("Can I have your name, please?", CALL, "+64215550100", None) == "Aroha Ngata"
    assert respond("What day and time would suit you?", CALL, None, None) == "Thursday at 9am"
    assert respond("Is plus 6 4, 2 1 5 5 5 0 1 0 0 the best number to reach you on?", CALL, None, None) == (
        "no, it's better to call 021 555 0172"
    )
    assert respond("Just to confirm: fault finding on Thursday. Shall I book that?", CALL, None, None) == "yes please"
    assert respond("The nearest free times are 8 am or 9 am. Would one of those suit?", CALL, None, None) == (
        "the first one, please"
    )
    assert respond("What's the booking reference?", CALL, None, "482913") == "4 8 2 9 1 3"
    assert respond("Please provide the details of the job and the time you need it done.", CALL, None, None) == (
        "Thursday at 9am"
    )
    assert respond("Is there anything else I can help with?", CALL, None, None) is None
    assert respond("You're booked in.", CALL, None, None) is None


def test_only_acknowledging_is_a_non_answer() -> None:
    turns = _turns(
        (None, "Hello."),
        ("how much is a call-out?", "Sure."),
        ("I need a quote for a rewire", "Of course. Let me take a few details."),
        ("yes please", "Great."),
        ("do you work weekends?", "Sure, we're open Saturday 8 am to 12 pm."),
    )
    assert non_answers(turns) == ["Sure.", "Of course. Let me take a few details."]


def test_a_question_asked_three_times_is_a_loop() -> None:
    asked = "Sorry, I didn't catch your name. Could you say it again?"
    turns = _turns((None, "Hi."), ("a", asked), ("b", asked), ("c", "Can I have your name, please?"))
    assert loops(turns) == []
    assert loops([*turns, *_turns(("d", asked))]) == ["could you say it again"]


def test_figures_nobody_gave_are_false() -> None:
    known = Known()
    known.add_text("Call-out fee $85 + GST, open 07:30-16:30. Phone 09 555 0134.")
    known.add_moment(datetime(2026, 12, 17, 8, 30, tzinfo=ZoneInfo("Pacific/Auckland")))
    known.add_json({"slots": ["2026-12-17T09:00:00+13:00"], "reference": "185042"}, ZoneInfo("Pacific/Auckland"))
    turns = _turns(
        (None, "Kia ora."),
        ("q", "It's $85, and we close at 4:30 pm."),
        ("q", "Thursday the 17th at 9 am; your reference is 1 8 5, 0 4 2. Call us on 0 9, 5 5 5, 0 1 3 4."),
        ("q", "About $90, and we're open 24/7."),
    )
    # "7" of "24/7" passes: the material opens at 07:30, and a reply may say "7".
    assert [f["figure"] for f in false_figures(turns, known)] == ["24", "90"]


def test_what_replies_say() -> None:
    assert AFFIRM.search("Yes, we do install solar panels.")
    assert AFFIRM.search("We do install them.")
    assert not AFFIRM.search("We don't install solar panels.")
    assert not AFFIRM.search("We do not work on the North Shore.")
    assert not AFFIRM.search("I'm sorry, I don't know that.")
    said = "I'm sorry, I don't know that. Would you like me to take a message so the team can get back to you?"
    assert DONT_KNOW.search(said) and OFFER.search(said)
    assert OFFER.search("There's no one available right now. Can I take a message for the team?")
