"""Passing things to the team: leads, messages and emergencies, recorded and sent to the owner at once."""

from __future__ import annotations

from typing import Any

from core.store.database import new_id, utcnow
from core.tools.base import ToolContext


def _alert_owner(ctx: ToolContext, kind: str, subject: str, body: str) -> list[str]:
    """Send to every owner target the tenant has; returns the channels used."""
    targets = ctx.tenant.notifications
    used = []
    if targets.owner_email:
        ctx.notifier.send(
            tenant_id=ctx.tenant.id, call_id=ctx.call_id, kind=kind, channel="email", target=targets.owner_email,
            subject=subject, body=body,
        )  # fmt: skip
        used.append("email")
    if targets.owner_sms:
        ctx.notifier.send(
            tenant_id=ctx.tenant.id, call_id=ctx.call_id, kind=kind, channel="sms", target=targets.owner_sms,
            subject=subject, body=body,
        )  # fmt: skip
        used.append("sms")
    return used


def _who(args: dict[str, Any], ctx: ToolContext) -> str:
    name = args.get("name") or "A caller"
    phone = args.get("phone") or ctx.caller_number or "no number given"
    return f"{name} ({phone})"


class CaptureLead:
    name = "capture_lead"
    description = "Record a potential customer with what they want and how urgent it is, and tell the owner."
    mutating = True
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "phone": {"type": "string"},
            "reason": {"type": "string"},
            "urgency": {"type": "string", "enum": ["hot", "warm", "cold"]},
        },
        "required": ["reason", "urgency"],
    }

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        lead_id = new_id("lead")
        ctx.store.execute(
            "INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, ?, 'new', ?)",
            [lead_id, ctx.tenant.id, ctx.call_id, args.get("name"), args.get("phone") or ctx.caller_number,
             args["reason"], args["urgency"], utcnow()],
        )  # fmt: skip
        sent = _alert_owner(
            ctx, "lead", f"New {args['urgency']} lead: {args['reason'][:60]}", f"{_who(args, ctx)}: {args['reason']}"
        )
        return {"lead_id": lead_id, "owner_notified_by": sent}


class TakeMessage:
    name = "take_message"
    description = "Take a message for the team, and send it to the owner."
    mutating = True
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "phone": {"type": "string"}, "message": {"type": "string"}},
        "required": ["message"],
    }

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        message_id = new_id("msg")
        ctx.store.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, 'new', ?)",
            [message_id, ctx.tenant.id, ctx.call_id, args.get("name"), args.get("phone") or ctx.caller_number,
             args["message"], utcnow()],
        )  # fmt: skip
        sent = _alert_owner(ctx, "message", f"Message from {_who(args, ctx)}", args["message"])
        return {"message_id": message_id, "owner_notified_by": sent}


class EscalateEmergency:
    name = "escalate_emergency"
    description = "Alert the owner at once about an emergency the caller describes."
    mutating = False  # an alert, not a change to the caller's affairs: it must not wait for a yes
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"description": {"type": "string"}, "name": {"type": "string"}, "phone": {"type": "string"}},
        "required": ["description"],
    }

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        lead_id = new_id("lead")
        ctx.store.execute(
            "INSERT INTO leads VALUES (?, ?, ?, ?, ?, ?, 'hot', 'emergency', ?)",
            [lead_id, ctx.tenant.id, ctx.call_id, args.get("name"), args.get("phone") or ctx.caller_number,
             args["description"], utcnow()],
        )  # fmt: skip
        sent = _alert_owner(ctx, "emergency", "EMERGENCY call", f"{_who(args, ctx)}: {args['description']}")
        return {"owner_notified_by": sent, "lead_id": lead_id}
