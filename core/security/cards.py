"""Card details a caller reads out: found in their words and replaced before anything keeps or reads them.

A card number is 13 to 19 digits said in one go or in groups (digits or digit words), starting as the card
networks' numbers do (2 to 6) and passing the Luhn check; phone numbers, booking references and prices are shorter
or fail it. A caller may pause in the middle, so a turn's trailing digits are remembered and read together with
the next turn's leading ones: the earlier turn is then redacted after the fact. An expiry or a security code is
recognised by what it is called ("expiry 12 29", "the CVV is 123"), in this turn or as the answer to the last.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from core.spoken import DigitGroup, digit_runs

CARD = "[card number]"
EXPIRY = "[expiry]"
CODE = "[security code]"
MARKS = (CARD, EXPIRY, CODE)

_CARD_DIGITS = range(13, 20)
_CARD_DIGITS_SAID = range(12, 20)  # a digit may be lost in transcription
_MORE_OF_A_CARD = 7  # digits that may still follow a number already long enough to be a card
_CARD_FIRST = "23456"  # Mastercard 2-series, Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay
# Words that may come before the rest of a number the caller paused in ("... and then 1111 2222").
_GO_ON = re.compile(
    r"(?:[\s,.\-:;!?]|\b(?:and|then|um+|uh+|er+m?|so|ok(?:ay)?|yeah|yes|it'?s|that'?s|the rest is|next|after that)\b)*",
    re.I,
)
_END = re.compile(r"[\s,.\-:;!?]*")
# After a code's or an expiry's name, words that leave its value still to come ("... and the expiry date is").
_STILL_TO_COME = re.compile(r"(?:[\s,.\-:;!?]|\b(?:date|number|is|it'?s|are|on it)\b)*", re.I)
# Only card talk: a code or expiry called by these names is a card's (a gate's "security code" is not).
_CARD_TALK = re.compile(r"\b(?:card|visa|mastercard|amex|american express|debit|credit)\b", re.I)
_ALWAYS_CODE = r"cvv2?|cvc2?|cv2|csc"
_CODE = re.compile(
    rf"\b(?:{_ALWAYS_CODE}|security (?:code|number)|card verification(?: value| code| number)?"
    r"|(?:three|four|3|4)[- ]digits?(?: code)? on the (?:back|front)|(?:code|digits|numbers) on the back)\b",
    re.I,
)
_ALWAYS = re.compile(rf"\b(?:{_ALWAYS_CODE})\b", re.I)
_EXPIRY = re.compile(r"\b(?:expir\w*|exp|valid (?:until|thru|through|to)|good (?:thru|through))\b", re.I)
_NUMBER_WORD = (
    r"zero|oh|o|nought|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    r"hundred|thousand|double|triple"
)
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
# What an expiry is said as: numbers, number words and month names, with "slash" or "of" between them.
_EXPIRY_VALUE = re.compile(
    rf"(?:\s*(?:date|is|it'?s|:|-)\b)*[\s:,-]*"
    rf"((?:(?:\d+|\b(?:{_NUMBER_WORD}|{_MONTH}|slash|of)\b)[\s,./-]*)+)",
    re.I,
)
_HAS_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORD})\b", re.I)
_NEAR = 40  # how far after its name a code or an expiry may come, in characters


class Span(NamedTuple):
    start: int
    end: int
    mark: str


K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Reading(Generic[K]):
    """One turn read: its words with card details replaced, where they were, and what earlier turns (named by
    the keys they were read with) held of a number that only this turn completed."""

    text: str
    spans: list[Span]
    earlier: list[tuple[K, Span]]


@dataclass(slots=True)
class _Piece(Generic[K]):
    key: K
    groups: tuple[DigitGroup, ...]  # positions in the turn's text as it was returned


@dataclass(slots=True)
class CardReader(Generic[K]):
    """Reads one call's caller turns in order. ``K``: what the caller names each turn by (its published words)."""

    _tail: list[_Piece[K]] = field(default_factory=list)
    _waiting: str | None = None  # the last turn named a code or expiry and ended before saying it
    _card_talk: bool = False  # a card came up in this call
    _card_ended: bool = False  # the last turn ended in a card number, which the caller may still be reading out

    def read(self, text: str, key: K, *, remember: bool = True) -> Reading[K]:
        """Turn ``text`` (named ``key``) read; ``remember``: it is the caller's whole turn, and how it ended
        matters to the next one (a draft of a turn still going on is not)."""
        card_talk = self._card_talk or bool(_CARD_TALK.search(text))
        spans: list[Span] = []
        earlier: list[tuple[K, Span]] = []
        runs = digit_runs(text)
        for run in runs:
            # The whole run goes, not just the stretch that passed: the rest is the same number, split oddly by
            # the transcription ("1111111111111 111 111 111").
            if _card_in(run.groups, card_talk) is not None:
                spans.append(Span(run.start, run.end, CARD))
        if self._tail and runs and not spans[:1] and _GO_ON.fullmatch(text, 0, runs[0].start):
            joined = _across(self._tail, runs[0].groups, card_talk)
            if joined is not None:
                before, head = joined
                spans.append(Span(head[0].start, head[-1].end, CARD))
                earlier += before
        more = runs[0] if runs and self._card_ended and not spans[:1] else None
        if more is not None and _GO_ON.fullmatch(text, 0, more.start) and len(more.digits) <= _MORE_OF_A_CARD:
            spans.append(Span(more.start, more.end, CARD))
        if self._waiting is not None:
            spans += _value_at(text, 0, self._waiting)
        card_talk = card_talk or bool(spans)
        if card_talk or _ALWAYS.search(text):
            spans += _named_values(text)
        spans = _merged(spans)
        redacted = _replaced(text, spans)
        if remember:
            self._card_talk = card_talk
            self._remember(redacted, key, bool(spans))
        return Reading(redacted, spans, earlier)

    def _remember(self, text: str, key: K, redacted: bool) -> None:
        """Keep how this turn ended: its trailing digits (they may be the start of a number), or the name of a
        code or expiry still to come."""
        runs = digit_runs(text)
        last = runs[-1] if runs else None
        if last is None or not _END.fullmatch(text, last.end):
            self._tail = []
        else:
            whole_turn = len(runs) == 1 and _GO_ON.fullmatch(text, 0, last.start) is not None
            piece = _Piece(key, last.groups)
            self._tail = [*self._tail, piece] if whole_turn and not redacted else [piece]
            while sum(len(p.groups) for p in self._tail) > 1 and _digits_of(self._tail) > max(_CARD_DIGITS):
                self._tail.pop(0)
        self._card_ended = text.rstrip(" ,.-:;!?").endswith(CARD)
        self._waiting = None
        named = [*_CODE.finditer(text), *_EXPIRY.finditer(text)]
        if named and (self._card_talk or _ALWAYS.search(text)):
            last_name = max(named, key=lambda m: m.end())
            if _STILL_TO_COME.fullmatch(text, last_name.end()):
                self._waiting = CODE if _CODE.fullmatch(last_name.group()) else EXPIRY


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_card(digits: str, card_talk: bool) -> bool:
    """Whether ``digits`` are a card number; once the call talks of a card, any number of a card's length is
    taken for one (a digit the transcription got wrong must not let the other fifteen through)."""
    if card_talk:
        return len(digits) in _CARD_DIGITS_SAID
    return len(digits) in _CARD_DIGITS and digits[0] in _CARD_FIRST and luhn(digits)


def _card_in(groups: tuple[DigitGroup, ...], card_talk: bool) -> tuple[DigitGroup, ...] | None:
    """The longest stretch of whole groups that is a card number, if any."""
    best: tuple[DigitGroup, ...] | None = None
    for i in range(len(groups)):
        digits = ""
        for j in range(i, len(groups)):
            digits += groups[j].digits
            if len(digits) > max(_CARD_DIGITS):
                break
            if _is_card(digits, card_talk) and (best is None or j + 1 - i > len(best)):
                best = groups[i : j + 1]
    return best


def _digits_of(pieces: list[_Piece[K]]) -> int:
    return sum(len(g.digits) for p in pieces for g in p.groups)


def _across(
    tail: list[_Piece[K]], head: tuple[DigitGroup, ...], card_talk: bool
) -> tuple[list[tuple[K, Span]], tuple[DigitGroup, ...]] | None:
    """A card number that starts in the earlier turns' trailing digits and ends in this turn's leading ones: the
    earlier turns' parts of it, and this turn's."""
    owned = [(piece.key, group) for piece in tail for group in piece.groups]
    # A number begins where the caller began saying digits in some turn, not inside a number said before it.
    starts = [sum(len(p.groups) for p in tail[:n]) for n in range(len(tail))]
    for i in starts:
        digits = "".join(group.digits for _, group in owned[i:])
        if len(digits) > max(_CARD_DIGITS):
            continue
        for j in range(len(head), 0, -1):
            if _is_card(digits + "".join(group.digits for group in head[:j]), card_talk):
                spans: dict[int, tuple[K, Span]] = {}
                for key, group in owned[i:]:
                    index = next(n for n, piece in enumerate(tail) if piece.key is key)
                    old = spans.get(index)
                    start = old[1].start if old is not None else group.start
                    spans[index] = (key, Span(start, group.end, CARD))
                return list(spans.values()), head[:j]
    return None


def _named_values(text: str) -> list[Span]:
    """Codes and expiries said with their names in this turn."""
    spans: list[Span] = []
    for name in _CODE.finditer(text):
        spans += _value_at(text, name.end(), CODE)
    for name in _EXPIRY.finditer(text):
        spans += _value_at(text, name.end(), EXPIRY)
    return spans


def _value_at(text: str, at: int, mark: str) -> list[Span]:
    """The code (3 or 4 digits) or expiry said soon after ``at``."""
    if mark == CODE:
        for run in digit_runs(text[at : at + _NEAR + 20]):
            if run.start > _NEAR:
                break
            if 3 <= len(run.digits) <= 4:
                return [Span(at + run.start, at + run.end, CODE)]
        return []
    value = _EXPIRY_VALUE.match(text, at)
    if value is None or value.start(1) - at > _NEAR or not _HAS_NUMBER.search(value.group(1)):
        return []
    return [Span(value.start(1), value.end(1) - (len(value.group(1)) - len(value.group(1).rstrip(" ,./-"))), EXPIRY)]


def _merged(spans: list[Span]) -> list[Span]:
    """Overlapping finds as one, the card's mark winning."""
    out: list[Span] = []
    for span in sorted(spans):
        if out and span.start < out[-1].end:
            last = out[-1]
            mark = CARD if CARD in (last.mark, span.mark) else last.mark
            out[-1] = Span(last.start, max(last.end, span.end), mark)
        else:
            out.append(span)
    return out


def _replaced(text: str, spans: list[Span]) -> str:
    for span in reversed(spans):
        text = text[: span.start] + span.mark + text[span.end :]
    return text


def redact_earlier(text: str, spans: list[Span]) -> str:
    """An earlier turn's words with what a later turn showed to be part of a card replaced."""
    return _replaced(text, _merged(spans))


# What a turn that only hands over card details says besides them.
_CARD_WORDS = re.compile(
    r"\b(?:my|the|a|and|is|it'?s|that'?s|here|here'?s|it|card|number|numbers|long|details?|expiry|expires|"
    r"expiration|date|security|code|cvv2?|cvc2?|cv2|csc|on|back|front|of|digits?|three|four|visa|mastercard|amex|"
    r"credit|debit|pay|paying|payment|with|by|to|for|i|i'?ll|can|want|you|so|ok|okay|yes|yeah|um+|uh+|er+m?|"
    r"sure|please|then|ready|got|there)\b",
    re.I,
)


def mentions_card(text: str) -> bool:
    """Whether card details were taken out of ``text``."""
    return any(mark in text for mark in MARKS)


def card_details_only(text: str) -> bool:
    """Whether ``text`` is only card details handed over ("my card is [card number], expiry [expiry]")."""
    if not mentions_card(text):
        return False
    for mark in MARKS:
        text = text.replace(mark, " ")
    return not re.search(r"\w", _CARD_WORDS.sub(" ", text))


def digits_in(text: str, spans: list[Span]) -> tuple[str, ...]:
    """The digits said in each of ``spans`` of ``text``."""
    return tuple("".join(run.digits for run in digit_runs(text[span.start : span.end])) for span in spans)


def scrub(value: Any, removed: Sequence[str]) -> Any:
    """``value`` (JSON-like: a plan, its slots) with every string that holds one of the ``removed`` digit strings,
    however it is spaced, replaced by the card's mark: a model may have copied a number into a slot."""
    if isinstance(value, str):
        digits = re.sub(r"\D", "", value)
        return CARD if any(part and part in digits for part in removed) else value
    if isinstance(value, dict):
        return {key: scrub(item, removed) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, removed) for item in value]
    return value
