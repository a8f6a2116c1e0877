"""The turn plan: what the LLM produces every turn, as a JSON schema the sampler is constrained to.

``{"intent": ..., "reply": "...", "slots": {...}}``: the intent comes first so the model commits to what the
caller wants before anything else, and the flow knows from it alone whether the LLM's reply will be spoken. If
so, the reply comes next and is spoken while it is being generated, with the slots written after it, while the
caller already listens; if not, the reply is skipped and the model goes straight to the slots, which hold only
what the caller said this turn, in their words.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec

from core.tenants.document import TenantDocument

INTENTS = (
    "question",
    "booking",
    "reschedule",
    "cancel",
    "lead",
    "message",
    "person",
    "emergency",
    "yes",
    "no",
    "goodbye",
    "wrong_number",
    "other",
)
SLOT_NAMES = ("service", "when", "name", "phone", "address", "reason", "urgency")
URGENCIES = ("hot", "warm", "cold")
_SLOT_CHARS = 80
# What a turn needs of the plan after its intent (the flow decides): the reply, then the slots; the slots only;
# or nothing more.
Needs = Literal["reply", "slots", "nothing"]


class TurnPlan(msgspec.Struct, forbid_unknown_fields=True):
    intent: str
    reply: str
    # A plan cut off by its token limit inside the reply has none: nothing was given, as far as anyone knows.
    slots: dict[str, Any] = msgspec.field(default_factory=dict)


class PlanError(ValueError):
    """The LLM's output is not a valid turn plan."""


def plan_schema(tenant: TenantDocument) -> dict[str, Any]:
    # Bounded, so a small model that copies a date or an example into a slot cannot hold the caller up for long.
    slots: dict[str, Any] = {name: {"type": "string", "maxLength": _SLOT_CHARS} for name in SLOT_NAMES}
    slots["urgency"] = {"type": "string", "enum": list(URGENCIES)}
    for tool in tenant.tools:
        for name, spec in tool.parameters.get("properties", {}).items():
            slots.setdefault(name, {"type": spec.get("type", "string")} if spec.get("type") != "object" else {})
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": intents_for(tenant)},
            "reply": {"type": "string", "minLength": 1},
            "slots": {"type": "object", "properties": slots, "additionalProperties": False},
        },
        "required": ["intent", "reply", "slots"],
        "additionalProperties": False,
    }


def intents_for(tenant: TenantDocument) -> list[str]:
    return [*INTENTS, *(tool.name for tool in tenant.tools)]


def parse_plan(text: str, intents: list[str] | tuple[str, ...] = INTENTS) -> TurnPlan:
    try:
        plan = msgspec.json.decode(text, type=TurnPlan)
    except msgspec.DecodeError as exc:
        raise PlanError(f"not a turn plan: {exc}") from None
    if plan.intent not in intents:
        raise PlanError(f"unknown intent '{plan.intent}'")
    if not plan.reply.strip():
        raise PlanError("empty reply")
    return plan


def skipped_reply(intent: str) -> str:
    """The start of a plan whose reply will not be spoken: the intent and a placeholder; the slots come next."""
    return json.dumps({"intent": intent, "reply": "-"})[:-1] + ', "slots": '


def plan_json(intent: str, slots: dict[str, Any], reply: str) -> str:
    """A plan as the history keeps it: what was decided and what was actually said. Spaced as the prompt's
    examples and the forced skeleton are, so the model keeps writing it that way."""
    return json.dumps({"intent": intent, "reply": reply, "slots": slots}, ensure_ascii=False)
