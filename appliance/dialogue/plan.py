"""The turn plan: what the LLM must produce every turn, as a JSON schema the sampler is constrained to."""

from __future__ import annotations

from typing import Any

import msgspec

INTENTS = ("question", "booking", "message", "person", "goodbye", "other")
MAX_REPLY_CHARS = 320


class TurnPlan(msgspec.Struct, forbid_unknown_fields=True):
    intent: str
    reply: str


# The intent comes first so the model commits to what the caller wants before it answers, and the reply
# comes last so it can be spoken while it is still being generated.
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": list(INTENTS)},
        "reply": {"type": "string", "minLength": 1, "maxLength": MAX_REPLY_CHARS},
    },
    "required": ["intent", "reply"],
    "additionalProperties": False,
}


class PlanError(ValueError):
    """The LLM's output is not a valid turn plan."""


def parse_plan(text: str) -> TurnPlan:
    try:
        plan = msgspec.json.decode(text, type=TurnPlan)
    except msgspec.DecodeError as exc:
        raise PlanError(f"not a turn plan: {exc}") from None
    if plan.intent not in INTENTS:
        raise PlanError(f"unknown intent '{plan.intent}'")
    if not plan.reply.strip():
        raise PlanError("empty reply")
    return plan
