"""Card details in a caller's words: generated card numbers said in the ways callers and the transcriber write
them are all caught, alone or split over turns; the numbers a receptionist needs (phones, references, prices,
a gate code) never are."""

from __future__ import annotations

import random
import re

import pytest

from core.security.cards import CARD, CODE, EXPIRY, CardReader, card_details_only, luhn, scrub

_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _card(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    check = next(d for d in "0123456789" if luhn(body + d))
    return body + check


def _said(rng: random.Random, number: str) -> str:
    """A number as a caller says it or the transcriber writes it."""
    style = rng.randrange(6)
    if style == 0:
        return number
    if style == 1:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    if style == 2:
        return "-".join(number[i : i + 4] for i in range(0, len(number), 4))
    if style == 3:
        return ", ".join(number[i : i + 4] for i in range(0, len(number), 4)) + "."
    if style == 4:
        return " ".join(_WORDS[int(d)] for d in number)
    # Digit words with "double" where a digit repeats, groups separated by commas.
    out, i = [], 0
    while i < len(number):
        if i + 1 < len(number) and number[i] == number[i + 1] and i % 4 != 3:
            out.append(f"double {_WORDS[int(number[i])]}")
            i += 2
        else:
            out.append(_WORDS[int(number[i])])
            i += 1
    return " ".join(out)


_NETWORKS = [("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15), ("6011", 16), ("4", 13)]
_LEADS = ["", "My card number is ", "It's a Visa, ", "Sure, ", "Can I pay by card? The number is ", "ok so "]
_TAILS = ["", ".", " thanks.", " and that's it.", ", is that okay?"]


@pytest.mark.parametrize("seed", range(4))
def test_every_generated_card_number_is_replaced_however_it_is_said(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(60):
        prefix, length = rng.choice(_NETWORKS)
        number = _card(rng, prefix, length)
        text = rng.choice(_LEADS) + _said(rng, number) + rng.choice(_TAILS)
        reading = CardReader[int]().read(text, 0)
        assert CARD in reading.text, text
        assert not re.search(r"\d{3}", reading.text) and not re.search(r"\b(?:four|five|six)\b", reading.text), (
            text,
            reading.text,
        )


def _phone(rng: random.Random) -> str:
    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    return rng.choice(
        [
            f"04{digits(2)} {digits(3)} {digits(3)}",
            f"+61 4{digits(2)} {digits(3)} {digits(3)}",
            f"({rng.randint(2, 9)}{digits(2)}) 555-{digits(4)}",
            f"+1 {rng.randint(2, 9)}{digits(2)} 555 {digits(4)}",
            f"+44 20 {digits(4)} {digits(4)}",
            f"+65 {rng.choice('689')}{digits(3)} {digits(4)}",
            " ".join(_WORDS[int(d)] for d in f"0{rng.randint(2, 9)}{digits(8)}"),
        ]
    )


@pytest.mark.parametrize("seed", range(3))
def test_phone_numbers_references_and_prices_are_kept(seed: int) -> None:
    """What a booking or a message needs is never taken for a card, even in a call that talked of one."""
    rng = random.Random(seed)
    for _ in range(80):
        reader = CardReader[int]()
        reader.read(rng.choice(["Hi there.", "Do you take cards?"]), 0)
        text = rng.choice(
            [
                f"You can call me back on {_phone(rng)}.",
                f"My booking reference is {rng.randint(100000, 999999)}.",
                f"Is it still ${rng.randint(1, 9)},{rng.randint(100, 999)} for the install?",
                "My ABN is " + " ".join(str(rng.randint(100, 999)) for _ in range(3)) + f" {rng.randint(10, 99)}.",
                f"I'm at {rng.randint(1, 400)} Smith Street, postcode {rng.randint(2000, 7999)}.",
                f"{_phone(rng)}",
            ]
        )
        assert reader.read(text, 1).text == text


def test_a_number_split_over_turns_is_caught_and_the_earlier_turns_are_named() -> None:
    reader = CardReader[str]()
    first = reader.read("The card number is 4111 1111", "first")
    assert first.text == "The card number is 4111 1111" and not first.spans  # not a card yet
    second = reader.read("1111", "second")
    assert second.text == CARD and [(key, span.start, span.end) for key, span in second.earlier] == [("first", 19, 28)]
    # Twelve digits in a call about a card are one already; what the caller still reads out is part of it.
    assert reader.read("um, 1111.", "third").text == f"um, {CARD}."


def test_without_card_talk_a_split_number_is_one_when_it_passes_the_check() -> None:
    reader = CardReader[str]()
    assert reader.read("okay it's 4111 1111", "first").text == "okay it's 4111 1111"
    assert reader.read("1111", "second").text == "1111"  # twelve digits, no card named: not yet
    third = reader.read("and 1111", "third")
    assert third.text == f"and {CARD}"
    assert sorted((key, span.start, span.end) for key, span in third.earlier) == [
        ("first", 10, 19),
        ("second", 0, 4),
    ]


def test_a_phone_number_before_a_card_is_not_taken_for_its_start() -> None:
    reader = CardReader[str]()
    reader.read("Call me on 0412 555 918", "phone")
    reading = reader.read("4111 1111 1111 1111", "card")
    assert reading.text == CARD and reading.earlier == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My card's expiry is 12/29", f"My card's expiry is {EXPIRY}"),
        ("Card expires twelve twenty nine.", f"Card expires {EXPIRY}."),
        ("It's a visa, valid thru December 2029", f"It's a visa, valid thru {EXPIRY}"),
        ("and the CVV is 123", f"and the CVV is {CODE}"),
        ("credit card, security code one two three", f"credit card, security code {CODE}"),
        ("the card's three digits on the back are 4 5 6", f"the card's three digits on the back are {CODE}"),
    ],
)
def test_expiry_and_security_code_said_with_their_names(text: str, expected: str) -> None:
    assert CardReader[int]().read(text, 0).text == expected


def test_a_code_or_expiry_asked_for_at_the_end_of_a_turn_is_caught_at_the_start_of_the_next() -> None:
    reader = CardReader[int]()
    reader.read("My card number is 4111 1111 1111 1111 and the security code is", 0)
    assert reader.read("seven eight nine", 1).text == CODE
    reader.read("and the expiry date", 2)
    assert reader.read("oh nine twenty eight", 3).text == EXPIRY


def test_a_gate_code_is_not_a_card_s() -> None:
    """Without a card in the call, 'security code' is a building's: a locksmith or a cleaner needs it."""
    text = "The gate security code is 4521 and the expiry of the lease is 2027."
    assert CardReader[int]().read(text, 0).text == text


def test_a_turn_that_only_hands_over_card_details_is_told_apart_from_one_that_asks_for_more() -> None:
    assert card_details_only(f"My card number is {CARD}, expiry {EXPIRY}, and the CVV is {CODE}.")
    assert not card_details_only(f"Can I book a drain clearing on Friday? My card is {CARD}.")


def test_a_plan_s_copies_of_the_digits_go_too() -> None:
    plan = {"intent": "booking", "slots": {"phone": "4111 1111", "name": "Ana"}, "list": ["41111111", 3]}
    assert scrub(plan, ("41111111",)) == {
        "intent": "booking",
        "slots": {"phone": CARD, "name": "Ana"},
        "list": [CARD, 3],
    }
