"""Money amounts in a reply that the business never gave.

A small model fills a price in from whatever figure is near it in the prompt (asked "How much is a men's cut?",
the 0.5B model said "about 30 pounds" from the cut's 30 minutes, though the price was £28). A reply clause
stating an amount that is not among the business's own is not spoken; the caller hears that we can't confirm
it and an offer to take a message instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from core.tenants.document import TenantDocument

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
NUMBER_WORDS = {w: n for n, w in enumerate(_ONES)} | {w: 10 * n for n, w in enumerate(_TENS, start=2)}
_WORDS = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_FIGURE = rf"\d[\d,]*(?:\.\d+)?|(?:{_WORDS})(?:[- ](?:{_WORDS}))?"
_SYMBOL = r"(?:[A-Z]{1,2})?[$£€¥₹]"
_UNIT = r"(?:pounds?|quid|dollars?|bucks|euros?|pence|cents?|AUD|USD|GBP|EUR|NZD|CAD)\b|p(?![\w.])"  # not "2 p.m."
# "$95", "A$ 95", "£28.50"; "28 pounds", "twenty-eight dollars", "50p", "95 AUD".
_AMOUNT = re.compile(
    rf"(?<![\w.,]){_SYMBOL}\s?(?P<after_symbol>{_FIGURE})|\b(?P<before_unit>{_FIGURE})\s?(?:{_UNIT})",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _value(figure: str) -> Decimal | None:
    figure = figure.lower().replace(",", "")
    if figure[0].isdigit():
        try:
            return Decimal(figure).normalize()
        except InvalidOperation:
            return None
    return Decimal(sum(NUMBER_WORDS[w] for w in re.split(r"[- ]", figure)))


def amounts(text: str) -> list[tuple[Decimal, int, int]]:
    """The money amounts ``text`` states, with where each one is: ``(value, start, end)``."""
    found = []
    for match in _AMOUNT.finditer(text):
        value = _value(match.group("after_symbol") or match.group("before_unit"))
        if value is not None:
            found.append((value, match.start(), match.end()))
    return found


def known_amounts(tenant: TenantDocument, texts: Iterable[str] = ()) -> set[Decimal]:
    """Every amount the business gives: each number in a service's price (priced with or without a currency),
    and each amount in its facts and reference text."""
    known = {v for s in tenant.services for m in _NUMBER.finditer(s.price) if (v := _value(m.group())) is not None}
    for text in (tenant.description, tenant.faq, *(s.description for s in tenant.services), *texts):
        known |= {value for value, _, _ in amounts(text)}
    return known


class FigureGuard:
    """Says when a reply clause states a money amount the business never gave. Clauses are checked as they
    stream, each with the end of the one before it, so an amount cut in two ("it's 30" / "pounds") is caught
    in its second half."""

    def __init__(self, known: set[Decimal], tail_chars: int = 24) -> None:
        self._known = known
        self._tail = ""
        self._tail_chars = tail_chars

    def unknown(self, clause: str) -> bool:
        text = f"{self._tail} {clause}" if self._tail else clause
        start = len(text) - len(clause)
        self._tail = text[-self._tail_chars :]
        return any(value not in self._known and end > start for value, _, end in amounts(text))
