"""The outcome of a call, from what the caller wanted across its turns."""

from __future__ import annotations

# The most consequential request decides the outcome.
_BY_PRIORITY = (
    ("person", "transfer_requested"),
    ("booking", "booking_requested"),
    ("message", "message_requested"),
    ("question", "answered"),
)


def call_outcome(intents: list[str]) -> str:
    if not intents:
        return "no_input"
    for intent, outcome in _BY_PRIORITY:
        if intent in intents:
            return outcome
    return "no_action"
