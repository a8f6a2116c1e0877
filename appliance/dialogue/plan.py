"""The turn plan: what the LLM produces every turn, as a JSON schema the sampler is constrained to.

``{"intent": ..., "slots": {...}, "reply": "..."}``: the intent comes first so the model commits to what the
caller wants before anything else; the slots hold only what the caller said this turn, in their words; the
reply comes last, so it can be spoken while it is being generated, or not generated at all when the flow has
its own words for the turn.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from appliance.tenants.document import TenantDocument

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


class TurnPlan(msgspec.Struct, forbid_unknown_fields=True):
    intent: str
    slots: dict[str, Any]
    reply: str


class PlanError(ValueError):
    """The LLM's output is not a valid turn plan."""


def plan_schema(tenant: TenantDocument) -> dict[str, Any]:
    slots: dict[str, Any] = {name: {"type": "string"} for name in SLOT_NAMES}
    slots["urgency"] = {"type": "string", "enum": list(URGENCIES)}
    for tool in tenant.tools:
        for name, spec in tool.parameters.get("properties", {}).items():
            slots.setdefault(name, {"type": spec.get("type", "string")} if spec.get("type") != "object" else {})
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": intents_for(tenant)},
            "slots": {"type": "object", "properties": slots, "additionalProperties": False},
            "reply": {"type": "string", "minLength": 1},
        },
        "required": ["intent", "slots", "reply"],
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


def parse_head(raw: str) -> tuple[str, dict[str, Any]] | None:
    """Intent and slots from a plan whose reply is still being written; None until both are complete."""
    at = raw.find('"reply"')
    if at < 0:
        return None
    head = raw[:at].rstrip().rstrip(",") + "}"
    try:
        data = json.loads(head)
    except json.JSONDecodeError:
        return None
    intent, slots = data.get("intent"), data.get("slots")
    if not isinstance(intent, str) or not isinstance(slots, dict):
        return None
    return intent, slots


def plan_json(intent: str, slots: dict[str, Any], reply: str) -> str:
    """A plan as the history keeps it: what was decided and what was actually said."""
    return msgspec.json.encode({"intent": intent, "slots": slots, "reply": reply}).decode()
