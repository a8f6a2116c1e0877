"""Passing something on to the team: a lead (what the caller wants, how urgent) or a message."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from core.dialogue import lines
from core.dialogue.tasks.base import Desk, Details, FlowTurn, ReadBack, first_missing
from core.tools.base import RunTool, call
from core.tools.contact import CaptureLead, LeadDetails, MessageDetails, TakeMessage

# When the team will call back, by the urgency the caller's words suggest.
_CALL_BACK = {"hot": "today", "warm": "soon", "cold": "in the next few days"}


class _PassOn(ReadBack):
    """Something for the team: the caller's first words say what it is about, when they said enough and the
    model gave no reason."""

    def begin(self, details: Details, caller_number: str | None, slots: dict[str, Any], text: str) -> dict[str, Any]:
        if not slots.get("reason") and len(text.split()) > 4:
            return {**slots, "reason": text}
        return slots


class Lead(_PassOn):
    name = "lead"
    skill = "leads"
    dropped = "passed anything on"

    def missing(self, details: Details) -> str | None:
        return first_missing(("reason", details.reason), ("name", details.name), ("phone", details.phone))

    def readback(self, desk: Desk) -> str:
        details = desk.state.details
        phone = lines.spoken_number(details.phone or "")
        return lines.CONFIRM_LEAD.format(name=details.name, phone=phone, reason=details.reason)

    async def act(self, desk: Desk, run: RunTool) -> FlowTurn:
        details = desk.state.details
        urgency = details.urgency or "warm"
        taken = await call(
            run,
            CaptureLead(),
            LeadDetails(
                name=details.name or UNSET, phone=details.phone or UNSET, reason=details.reason or "", urgency=urgency
            ),
        )
        desk.drop()
        if taken is None:
            return FlowTurn(self.name, [lines.CANT_DO])
        return FlowTurn(self.name, [lines.LEAD_DONE.format(when=_CALL_BACK[urgency]), lines.ANYTHING_ELSE])


class Message(_PassOn):
    name = "message"
    skill = "messages"
    dropped = "sent a message"

    def missing(self, details: Details) -> str | None:
        return first_missing(("name", details.name), ("phone", details.phone), ("message", details.message))

    def readback(self, desk: Desk) -> str:
        details = desk.state.details
        phone = lines.spoken_number(details.phone or "")
        return lines.CONFIRM_MESSAGE.format(name=details.name, phone=phone, message=details.message)

    async def act(self, desk: Desk, run: RunTool) -> FlowTurn:
        details = desk.state.details
        sent = await call(
            run,
            TakeMessage(),
            MessageDetails(name=details.name or UNSET, phone=details.phone or UNSET, message=details.message or ""),
        )
        desk.drop()
        return FlowTurn(self.name, [lines.MESSAGE_DONE if sent is not None else lines.CANT_DO, lines.ANYTHING_ELSE])
