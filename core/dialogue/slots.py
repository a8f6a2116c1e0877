"""Checking what the caller gave us before we rely on it: phone numbers read out as words, names, services."""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.spoken import digit_runs
from core.tenants.document import Service

_NAME_LEAD = re.compile(
    r"^(?:(?:hi|hello|yes|yeah|sure|ok|okay)[, ]+)?"
    r"(?:my name is|my name's|i'm|i am|it's|it is|this is|name is|call me)\s+",
    re.I,
)
_NAME_WORD = re.compile(r"^[^\W\d_][\w'.-]*$")


def _digits(text: str) -> str:
    """The digits said or typed, in order ("double four" is two), with a leading + kept."""
    runs = digit_runs(text)
    out = "".join(run.digits for run in runs)
    return "+" + out if runs and text[: runs[0].start].endswith("+") else out


def phone_number(text: str) -> str | None:
    """Digits (with a leading + kept) from what the caller said or typed; None unless 8 to 15 digits."""
    out = _digits(text)
    count = len(out.lstrip("+"))
    return out if 8 <= count <= 15 else None


def booking_reference(text: str, digits: int = 6) -> str | None:
    """A booking reference from what the caller said: all the digits they said, when there are exactly
    ``digits`` of them, else the one group of that many written together ("it's 482913 for Friday the 14th")."""
    said = _digits(text).lstrip("+")
    if len(said) == digits:
        return said
    groups = re.findall(rf"(?<!\d)\d{{{digits}}}(?!\d)", text)
    return groups[0] if len(groups) == 1 else None


def person_name(text: str) -> str | None:
    """A plausible name: up to five words of letters, without the 'my name is' around it."""
    cleaned = _NAME_LEAD.sub("", text.strip()).strip(" .,!?")
    words = cleaned.split()
    if not 1 <= len(words) <= 5 or not all(_NAME_WORD.match(w) for w in words):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in words)


def match_service(text: str, services: Sequence[Service]) -> Service | None:
    """The service whose name shares the most words with ``text``; None when nothing matches well."""
    said = _stems(text)
    best, best_score = None, 0.0
    for service in services:
        name = _stems(service.name + " " + service.description)
        core = _stems(service.name)
        if not core:
            continue
        score = len(said & name) / len(core)
        if score > best_score:
            best, best_score = service, score
    return best if best_score >= 0.34 else None


_STOP = {"a", "an", "the", "and", "or", "of", "for", "to", "my", "i", "need", "want", "some", "with", "on", "in"}


def _stems(text: str) -> set[str]:
    words = re.findall(r"[a-z]+", text.lower())
    return {w[:5] for w in words if w not in _STOP and len(w) > 2}


def grounded(value: str, said: str) -> bool:
    """Whether a detail the model extracted is really in what the caller said: small models fill slots with
    plausible values the caller never gave (seen: a "when" copied from the prompt's examples)."""
    squeezed = re.sub(r"[\W_]", "", value.lower())
    if len(squeezed) >= 3 and squeezed in re.sub(r"[\W_]", "", said.lower()):
        return True  # codes spelled out: "A 1 2 3" gives "A123"
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 6:
        heard = phone_number(said) or re.sub(r"\D", "", said)
        return digits in heard or (phone_number(value) or "") in heard
    wanted = _words_of(value)
    if not wanted:
        return False
    heard_words = _words_of(said)
    return len(wanted & heard_words) >= max(1, (len(wanted) + 1) // 2)


def _words_of(text: str) -> set[str]:
    spaced = re.sub(r"(\d)([a-z])", r"\1 \2", text.lower())
    return {w[:5] for w in re.findall(r"[a-z0-9']+", spaced) if w not in _STOP and (len(w) > 2 or w.isdigit())}
