"""A price the business never gave is not spoken: the amounts a reply states, checked against the business's."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from decimal import Decimal
from typing import Any

import structlog

from core.dialogue.conversation import Conversation, Head
from core.dialogue.figures import FigureGuard, amounts, known_amounts
from core.dialogue.lines import UNSURE_PRICE
from core.dialogue.prompt import business_facts
from core.events import ReplyText
from core.tenants.document import load_tenant_file
from models.interfaces import ChatMessage
from tests.conftest import TENANTS

SALON = load_tenant_file(TENANTS / "fern-and-fade.toml")


def _values(text: str) -> list[Decimal]:
    return [value for value, _, _ in amounts(text)]


def test_amounts_in_symbols_words_and_units_but_not_times_or_durations() -> None:
    assert _values("It's £28.50, or A$ 95, or $1,200.00") == [Decimal("28.5"), Decimal(95), Decimal(1200)]
    assert _values("about 30 pounds, twenty-eight dollars, 50p, 95 AUD") == [30, 28, 50, 95]
    assert _values("We close at 2 p.m. on Fridays; a cut takes about 30 minutes; 28 people") == []


def test_the_business_amounts_are_its_prices_and_those_in_its_facts() -> None:
    known = known_amounts(SALON)
    assert {Decimal(28), Decimal(52), Decimal(32), Decimal(85)} <= known
    assert Decimal(30) not in known and Decimal(60) not in known  # durations are no prices
    assert Decimal(40) in known_amounts(SALON, ["Gift vouchers from £40"])


def test_a_clause_with_an_amount_not_given_is_caught_even_cut_in_two() -> None:
    known = known_amounts(SALON)
    assert FigureGuard(known).unknown("A men's cut costs about 30 pounds.")
    assert not FigureGuard(known).unknown("A men's cut is £28, and it takes about 30 minutes.")
    guard = FigureGuard(known)
    assert not guard.unknown("Sure, a men's cut is 30")
    assert guard.unknown("pounds.")


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
        self, messages: Sequence[ChatMessage], schema: dict[str, Any], max_tokens: int, prefix: str = ""
    ) -> AsyncGenerator[str, None]:
        for i in range(0, len(self._plan), 4):
            yield self._plan[i : i + 4]

    async def prefill(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None = None) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return len(text.split())


async def _heard(reply: str) -> tuple[list[str], str]:
    conversation = Conversation(
        SALON, _Saying(reply), max_reply_tokens=80, history_turns=4, log=structlog.get_logger("test")
    )
    plan = conversation.plan("How much is a men's cut?", lambda intent: "reply", turn=0, interrupted=lambda: False)
    out = [item async for item in plan]
    heads = [item for item in out if isinstance(item, Head)]
    return [item.text for item in out if isinstance(item, ReplyText)], heads[-1].intent


async def test_a_made_up_price_is_not_spoken_and_the_caller_is_offered_a_message() -> None:
    said, intent = await _heard("A men's cut costs about 30 pounds. It takes about half an hour. Anything else?")
    # The first five words went out before the figure came; nothing after it is said: the reply ends there.
    assert said == ["A men's cut costs about", UNSURE_PRICE] and intent == "question"
    said, _ = await _heard("Sure, a men's cut is 28 pounds. It takes about half an hour.")
    assert said == ["Sure, a men's cut is", "28 pounds.", "It takes about half an hour."]
