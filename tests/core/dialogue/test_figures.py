"""A figure nothing in the call accounts for is not spoken: each figure a reply states (an amount, a clock time, a
date, a duration, a phone number, a street number, a percentage, a count) is checked against those of the
business, the reference text, what was said in the call, and the call's date and time."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from structlog.testing import capture_logs

from core.dialogue.conversation import Conversation, Head
from core.dialogue.figures import Figure, FigureGuard, Known, amounts
from core.dialogue.lines import UNSURE_DETAIL, UNSURE_PRICE
from core.dialogue.prompt import business_facts
from core.events import ReplyText
from core.tenants.document import TenantDocument, load_tenant_file
from models.interfaces import ChatMessage, TokenCount
from tests.conftest import EXAMPLE_TENANT, TENANTS

SALON = load_tenant_file(TENANTS / "fern-and-fade.toml")
DENTIST = load_tenant_file(TENANTS / "lakeside-dental.toml")
PLUMBER = load_tenant_file(EXAMPLE_TENANT)
STARTED = datetime(2026, 12, 3, 14, 5)  # a Thursday


def _values(text: str) -> list[Decimal]:
    return [value for value, _, _ in amounts(text)]


def _stopped(known: Known, *clauses: str) -> Figure | None:
    """The first figure the guard stops in a reply streamed as ``clauses``."""
    guard = FigureGuard(known)
    return next((figure for clause in clauses if (figure := guard.unknown(clause))), None)


def _all_pass(known: Known, *replies: str) -> None:
    for reply in replies:
        assert _stopped(known, reply) is None, reply


def _all_stop(known: Known, kind: str, *replies: str) -> None:
    for reply in replies:
        figure = _stopped(known, reply)
        assert figure is not None and figure.kind == kind, reply


def test_amounts_in_symbols_words_and_units_but_not_times_or_durations() -> None:
    assert _values("It's £28.50, or A$ 95, or $1,200.00") == [Decimal("28.5"), Decimal(95), Decimal(1200)]
    assert _values("about 30 pounds, twenty-eight dollars, 50p, 95 AUD, two hundred and sixty dollars") == [
        30, 28, 50, 95, 260
    ]  # fmt: skip
    assert _values("We close at 2 p.m. on Fridays; a cut takes about 30 minutes; 28 people") == []


def test_amounts_are_the_business_prices_and_those_in_its_facts_and_passages() -> None:
    known = Known.of(SALON)
    _all_pass(known, "A men's cut is £28, a skin fade 32 pounds.", "A full colour is from 85 pounds.")
    # The cut's 30 minutes are no price.
    _all_stop(known, "amount", "A men's cut costs about 30 pounds.", "A women's cut is £60.")
    _all_pass(known.with_texts(["Gift vouchers from £40"]), "Vouchers start at £40.")
    _all_pass(Known.of(PLUMBER), "The call-out fee is $95, or $140 on Saturday mornings.")


def test_clock_times_are_the_opening_and_closing_times_however_they_are_said() -> None:
    known = Known.of(PLUMBER)  # weekdays 07:30-17:00, Friday 07:30-16:00, Saturday 08:00-12:00
    _all_pass(
        known,
        "We open at 7:30 am on weekdays.",
        "We open at half past seven in the morning.",
        "We close at 5 pm.",
        "We close at 17:00.",
        "We close at five o'clock in the afternoon.",
        "We're open from 7:30 to 5 on weekdays.",
        "We're open Monday to Friday, 7:30 to 5.",
        "On Saturdays we're open 8 am till noon.",
        "We're open until 4 on Fridays.",
        "We open at eight on Saturdays.",
    )
    # A time inside the hours is no end of them: "open at 10 am" is true, but not a time the business gave.
    _all_stop(
        known,
        "clock time",
        "We open at 7 on weekdays.",
        "We close at 6 pm.",
        "We're open until 18:00.",
        "We're open from 9 to 5.",
        "We close at half past four.",
        "We're open at 10 am.",
    )
    _all_pass(Known.of(SALON), "We close at 8 pm on Thursdays.", "On Saturdays we're open nine till four.")


def test_dates_are_the_holidays_the_call_date_and_those_the_caller_names() -> None:
    known = Known.of(PLUMBER, started=STARTED)
    _all_pass(
        known,
        "We're closed on December 25 and the 26th.",
        "We're closed on the 1st of January.",
        "Today is Thursday the 3rd of December 2026.",
        # Weekdays are not checked: the facts name all seven.
        "We're open on Saturday mornings and closed on Sundays.",
    )
    _all_stop(known, "date", "We're closed on December 24.", "We can come on the 14th.", "On the fifth of January.")
    heard = known.with_texts(["Could someone come on the 14th?"])
    _all_pass(heard, "Someone can come on Monday the 14th of December.")


def test_durations_are_the_services_and_those_in_the_facts_in_any_unit() -> None:
    known = Known.of(DENTIST)  # whitening 90 minutes; "arrive 15 minutes early"
    _all_pass(
        known,
        "Whitening takes 90 minutes.",
        "Whitening takes an hour and a half.",
        "It takes 1.5 hours.",
        "It takes one and a half hours.",
        "It's a 90-minute appointment.",
        "Please arrive 15 minutes early.",
        "A check-up takes about an hour.",
    )
    _all_stop(known, "duration", "Whitening takes two hours.", "It takes about 45 minutes.")
    plumber = Known.of(PLUMBER)  # "a 12-month workmanship guarantee"
    _all_pass(plumber, "Every job has a 12-month guarantee.", "Every job has a one-year guarantee.")
    _all_stop(plumber, "duration", "Every job has a 2-year guarantee.")


def test_phone_numbers_match_by_their_digits_however_they_are_grouped() -> None:
    known = Known.of(PLUMBER)  # +61 3 9555 0142, and the gas line 1800 427 532
    _all_pass(
        known,
        "You can call us on +61 3 9555 0142.",
        "Call us on 03 9555 0142.",
        "Our number is 9555 0142.",
        "That's 0 3, 9 5 5 5, 0 1 4 2.",
        "It's oh three nine five five five oh one four two.",
        "The gas emergency line is 1800 427 532.",
    )
    _all_stop(known, "phone number", "Call us on 9555 0143.", "Our mobile is 0412 555 918.")
    _all_pass(known.with_texts(["My number is 0412 555 918."]), "We'll call you back on 0 4 1 2, 5 5 5, 9 1 8.")
    dentist = Known.of(DENTIST)
    _all_pass(dentist, "After hours, call our on-call line at (312) 555-0199.", "We're on 312 555 0187.")
    _all_stop(dentist, "phone number", "Call 312-555-0100.")


def test_street_numbers_and_percentages_are_the_business_or_the_callers() -> None:
    known = Known.of(PLUMBER)
    _all_pass(known, "We're at 14 Tinning Street, Brunswick VIC 3056.")
    _all_stop(known, "street number", "We're at 16 Tinning Street.")
    _all_pass(known.with_texts(["it's at 22 smith street"]), "We'll send someone to 22 Smith Street.")
    _all_stop(known, "percentage", "Pensioners get 10% off.")
    _all_pass(known.with_texts(["Pensioners get 10% off the call-out fee."]), "Pensioners get 10 percent off.")
    _all_stop(known, "number", "We're available 24/7.", "We have 6 plumbers on call.")


def test_counts_are_checked_from_two_up_against_any_quantity_the_sources_state() -> None:
    _all_pass(Known.of(DENTIST), "We have three dentists and two hygienists.", "Parking is on level 2.")
    _all_stop(Known.of(DENTIST), "number", "We have four dentists.")
    _all_pass(Known.of(PLUMBER), "Our licence number is 54871.", "We've been in business since 2009.")
    _all_pass(Known.of(PLUMBER, started=STARTED), "It's 2:05 pm on Thursday the 3rd.", "It's 2026.")


def test_ordinary_speech_is_no_figure() -> None:
    _all_pass(
        Known.of(PLUMBER),
        "One moment, please.",
        "I can take a message for one of the team.",
        "It'll only take a minute.",
        "Just a second.",
        "Someone can usually be there within a couple of hours.",
        "It takes a few minutes.",
        "First, can I have your name?",
        "Would you like a call back in the morning?",
    )


def test_a_figure_cut_in_two_is_caught_in_its_second_half() -> None:
    known = Known.of(SALON)
    assert not _stopped(known, "Sure, a men's cut is 30")  # 30 is a quantity the business gives (30 minutes)
    assert _stopped(known, "Sure, a men's cut is 30", "pounds.")
    assert not _stopped(known, "A men's cut is £28, and it takes about 30 minutes.")
    plumber = Known.of(PLUMBER)
    assert not _stopped(plumber, "We close at 5")  # 5 pm
    figure = _stopped(plumber, "We close at 5", "am on Fridays.")
    assert figure is not None and figure.text == "at 5 am"


def test_services_are_listed_price_first_with_labels_and_durations_in_words() -> None:
    facts = business_facts(SALON)
    assert "- Men's cut: price £28; takes half an hour" in facts
    assert "- Full colour: price from £85; takes 2 hours" in facts
    assert "30 minutes" not in facts


class _Saying:
    """An LLM whose plan replies with the given words."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self._plan = '{"intent": "question", "reply": "' + reply + '", "slots": {}}'

    async def stream_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        max_tokens: int,
        prefix: str = "",
        count: TokenCount | None = None,
    ) -> AsyncGenerator[str, None]:
        for i in range(0, len(self._plan), 4):
            yield self._plan[i : i + 4]

    async def prefill(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None = None) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return len(text.split())


async def _heard(
    reply: str,
    caller: str = "How much is a men's cut?",
    tenant: TenantDocument = SALON,
    before: tuple[str, str] | None = None,
) -> tuple[list[str], str]:
    """What the caller hears of ``reply`` to ``caller``, after an earlier turn ``before`` (the caller's words and
    what was said)."""
    conversation = Conversation(
        tenant,
        _Saying(reply),
        max_reply_tokens=80,
        history_turns=4,
        log=structlog.get_logger("test"),
        now=lambda: STARTED,
    )
    if before is not None:
        conversation.remember(before[0], "booking", {}, before[1])
    plan = conversation.plan(caller, lambda intent: "reply", turn=1, interrupted=lambda: False)
    out = [item async for item in plan]
    heads = [item for item in out if isinstance(item, Head)]
    return [item.text for item in out if isinstance(item, ReplyText)], heads[-1].intent


async def test_a_made_up_price_is_not_spoken_and_the_caller_is_offered_a_message() -> None:
    said, intent = await _heard("A men's cut costs about 30 pounds. It takes about half an hour. Anything else?")
    # The first five words went out before the figure came; nothing after it is said: the reply ends there.
    assert said == ["A men's cut costs about", UNSURE_PRICE] and intent == "question"
    said, _ = await _heard("Sure, a men's cut is 28 pounds. It takes about half an hour.")
    assert said == ["Sure, a men's cut is", "28 pounds.", "It takes about half an hour."]


async def test_a_made_up_clock_time_is_not_spoken_and_the_log_says_which() -> None:
    with capture_logs() as logs:
        said, _ = await _heard("We close at 6 pm on Thursdays. Anything else?", "When do you close on Thursday?")
    assert said == [UNSURE_DETAIL]
    stopped = [log for log in logs if "figure" in log]
    assert [(log["figure"], log["kind"]) for log in stopped] == [("at 6 pm", "clock time")]
    said, _ = await _heard("We close at 8 pm on Thursdays.", "When do you close on Thursday?")
    assert said == ["We close at 8 pm", "on Thursdays."]


async def test_a_true_figure_is_not_cut_in_two_where_the_first_words_go_out() -> None:
    # Cut after five words ("Our phone number is +61"), the first half would be a made-up count.
    said, _ = await _heard("Our phone number is +61 3 9555 0142. Anything else?", "What's your number?", PLUMBER)
    assert said == ["Our phone number is +61 3 9555 0142.", "Anything else?"]


async def test_figures_said_earlier_in_the_call_are_known() -> None:
    # The caller's own time, said back.
    said, _ = await _heard("Sure, 3:15 pm works for us.", "Could someone come at 3:15 pm?", PLUMBER)
    assert said == ["Sure, 3:15 pm works for", "us."]
    said, _ = await _heard("Sure, 3:30 pm works for us.", "Could someone come at 3:15 pm?", PLUMBER)
    assert said == [UNSURE_DETAIL]
    # A booking reference the flow read out in an earlier turn.
    booked = ("Book me in for the drain.", "You're booked in. Your booking reference is 4 8 2, 9 1 3.")
    said, _ = await _heard("Your reference is 482913.", "What was my reference again?", PLUMBER, booked)
    assert said == ["Your reference is 482913."]
    said, _ = await _heard("Your reference is 482913.", "What was my reference again?", PLUMBER)
    assert said == [UNSURE_DETAIL]
