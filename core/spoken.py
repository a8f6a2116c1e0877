"""Digits as a caller says them: numerals, digit words ("oh four one two"), and "double"/"triple" before a digit.
Phone numbers, booking references and card numbers are all read out this way, so they share one reading."""

from __future__ import annotations

import re
from typing import NamedTuple

DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
REPEAT = {"double": 2, "triple": 3}
_TOKEN = re.compile(r"\d+|[^\W\d_]+")
# What may stand between two groups of one number as it is written down: spaces, commas, dashes, dots, slashes.
_JOINER = re.compile(r"[\s,.\-/:()]*")


class DigitGroup(NamedTuple):
    """One group of digits as said or written ("4111", "four", "double four"): where it is in the text."""

    start: int
    end: int
    digits: str


class DigitRun(NamedTuple):
    """Groups said one after another with nothing but separators between them: one number, as far as the words go."""

    groups: tuple[DigitGroup, ...]

    @property
    def digits(self) -> str:
        return "".join(group.digits for group in self.groups)

    @property
    def start(self) -> int:
        return self.groups[0].start

    @property
    def end(self) -> int:
        return self.groups[-1].end


def digit_runs(text: str) -> list[DigitRun]:
    """Every run of digits in ``text``, in order; any other word ends a run."""
    runs: list[DigitRun] = []
    current: list[DigitGroup] = []
    repeat: tuple[int, int] | None = None  # (times, where the word began)
    last_end = 0
    for match in _TOKEN.finditer(text):
        token = match.group().lower()
        joined = current and _JOINER.fullmatch(text, last_end, match.start()) is not None
        if current and not joined:
            runs.append(DigitRun(tuple(current)))
            current = []
        if token in REPEAT and repeat is None:
            repeat = (REPEAT[token], match.start())
            last_end = match.end()
            continue
        digits = token if token.isdigit() else DIGIT_WORDS.get(token)
        if digits is None:
            if current:
                runs.append(DigitRun(tuple(current)))
                current = []
            repeat = None
            continue
        start = match.start()
        if repeat is not None:
            digits = digits[0] * (repeat[0] - 1) + digits
            start = repeat[1]
            repeat = None
        current.append(DigitGroup(start, match.end(), digits))
        last_end = match.end()
    if current:
        runs.append(DigitRun(tuple(current)))
    return runs
