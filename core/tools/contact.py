"""Passing things to the team: leads, messages and emergencies, recorded and sent to the owner at once."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from core.store.leads import LeadRepository
from core.tools.base import Builtin, ToolContext

Urgency = Literal["hot", "warm", "cold"]
# The schema has always named the type of an enum too; msgspec writes the enum alone (and sorted).
_STRING = Meta(extra_json_schema={"type": "string"})


class LeadDetails(msgspec.Struct, kw_only=True):
    name: str | UnsetType = UNSET
    phone: str | UnsetType = UNSET
    reason: str
    urgency: Annotated[Urgency, _STRING]


class LeadTaken(msgspec.Struct, kw_only=True):
    lead_id: str
    owner_notified_by: list[str]


class MessageDetails(msgspec.Struct, kw_only=True):
    name: str | UnsetType = UNSET
    phone: str | UnsetType = UNSET
    message: str


class MessageTaken(msgspec.Struct, kw_only=True):
    message_id: str
    owner_notified_by: list[str]


class EmergencyDetails(msgspec.Struct, kw_only=True):
    description: str
    name: str | UnsetType = UNSET
    phone: str | UnsetType = UNSET


class Alerted(msgspec.Struct, kw_only=True):
    owner_notified_by: list[str]
    lead_id: str


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


def _given(value: str | UnsetType) -> str | None:
    return None if value is UNSET else value


def _phone(args: LeadDetails | MessageDetails | EmergencyDetails, ctx: ToolContext) -> str | None:
    """The number the caller gave, else the one they are calling from."""
    return args.phone or ctx.caller_number


def _who(args: LeadDetails | MessageDetails | EmergencyDetails, ctx: ToolContext) -> str:
    return f"{args.name or 'A caller'} ({_phone(args, ctx) or 'no number given'})"


class CaptureLead(Builtin[LeadDetails, LeadTaken]):
    name = "capture_lead"
    description = "Record a potential customer with what they want and how urgent it is, and tell the owner."
    mutating = True
    arguments = LeadDetails
    result = LeadTaken

    async def handle(self, ctx: ToolContext, args: LeadDetails) -> LeadTaken:
        lead_id = LeadRepository(ctx.store, ctx.tenant.id).add_lead(
            call_id=ctx.call_id, name=_given(args.name), phone=_phone(args, ctx), reason=args.reason,
            urgency=args.urgency,
        )  # fmt: skip
        sent = _alert_owner(
            ctx, "lead", f"New {args.urgency} lead: {args.reason[:60]}", f"{_who(args, ctx)}: {args.reason}"
        )
        return LeadTaken(lead_id=lead_id, owner_notified_by=sent)


class TakeMessage(Builtin[MessageDetails, MessageTaken]):
    name = "take_message"
    description = "Take a message for the team, and send it to the owner."
    mutating = True
    arguments = MessageDetails
    result = MessageTaken

    async def handle(self, ctx: ToolContext, args: MessageDetails) -> MessageTaken:
        message_id = LeadRepository(ctx.store, ctx.tenant.id).add_message(
            call_id=ctx.call_id, name=_given(args.name), phone=_phone(args, ctx), body=args.message
        )
        sent = _alert_owner(ctx, "message", f"Message from {_who(args, ctx)}", args.message)
        return MessageTaken(message_id=message_id, owner_notified_by=sent)


class EscalateEmergency(Builtin[EmergencyDetails, Alerted]):
    name = "escalate_emergency"
    description = "Alert the owner at once about an emergency the caller describes."
    mutating = False  # an alert, not a change to the caller's affairs: it must not wait for a yes
    arguments = EmergencyDetails
    result = Alerted

    async def handle(self, ctx: ToolContext, args: EmergencyDetails) -> Alerted:
        # An emergency is a hot lead whose status says what it is.
        lead_id = LeadRepository(ctx.store, ctx.tenant.id).add_lead(
            call_id=ctx.call_id, name=_given(args.name), phone=_phone(args, ctx), reason=args.description,
            urgency="hot", status="emergency",
        )  # fmt: skip
        sent = _alert_owner(ctx, "emergency", "EMERGENCY call", f"{_who(args, ctx)}: {args.description}")
        return Alerted(owner_notified_by=sent, lead_id=lead_id)
