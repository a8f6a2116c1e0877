"""The outcome of a call, from what happened in it: the tools that did something, the transfer, the task left
unfinished. Never from a model's reading of the call: a booking that was made and one the caller walked away from
must not look the same."""

from __future__ import annotations

from typing import Any

import msgspec

from core.records import ToolCallRecord

# Most consequential first: the first that applies is the call's outcome, the others its secondary outcomes.
OUTCOMES = (
    "emergency_escalated",
    "transferred",
    "booking_created",
    "booking_changed",
    "booking_cancelled",
    "lead_captured",
    "message_taken",
    "abandoned",  # the caller left while a task was being collected or confirmed
    "wrong_number",
    "question_answered",
    "no_action",  # the caller spoke, asked for nothing that was done, and left no task unfinished
    "no_input",  # the caller never said anything the assistant answered
    "busy",  # every line was taken: the caller never reached the assistant (written by the phone line)
)


class CallFacts(msgspec.Struct, kw_only=True):
    """What a call did, as the dialogue and the line saw it."""

    intents: list[str]  # the flow's intent of each caller turn, in order
    tools: list[ToolCallRecord]
    unanswered: int = 0  # questions the assistant had no answer to (it offered a message instead)
    transferred: bool = False
    task_open: bool = False  # a task was still being collected or confirmed when the call ended


def _result(tool: ToolCallRecord) -> dict[str, Any]:
    return tool.result if isinstance(tool.result, dict) else {}


def achieved(tool: ToolCallRecord) -> str | None:
    """The outcome one tool call achieved, if any: a failed call or a refusal (no free time) achieved none."""
    if not tool.ok:
        return None
    result = _result(tool)
    if tool.name == "create_booking":
        return "booking_created" if result.get("booked") is True else None
    if tool.name == "cancel_or_reschedule":
        if result.get("done") is not True:
            return None
        return "booking_cancelled" if tool.arguments.get("action") == "cancel" else "booking_changed"
    return {
        "capture_lead": "lead_captured",
        "take_message": "message_taken",
        "escalate_emergency": "emergency_escalated",
    }.get(tool.name)


def call_outcomes(facts: CallFacts) -> list[str]:
    """The call's outcomes, the primary one first; never empty."""
    if not facts.intents:
        return ["transferred"] if facts.transferred else ["no_input"]
    found = {done for tool in facts.tools if (done := achieved(tool)) is not None}
    if facts.transferred:
        found.add("transferred")
    if facts.task_open:
        found.add("abandoned")
    if "wrong_number" in facts.intents:
        found.add("wrong_number")
    if facts.intents.count("question") > facts.unanswered:
        found.add("question_answered")
    return [o for o in OUTCOMES if o in found] or ["no_action"]
