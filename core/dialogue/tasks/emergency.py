"""After an emergency alert with nobody to put the caller through to: where to go, passed on at once."""

from __future__ import annotations

from msgspec import UNSET

from core.dialogue import lines
from core.dialogue.tasks.base import Desk, Details, FlowTurn, Task, first_missing
from core.tools.base import RunTool, call
from core.tools.contact import CaptureLead, LeadDetails


class Emergency(Task):
    name = "emergency"
    dropped_by_no = False  # "no" is no way out of an emergency: the team needs the address

    def missing(self, details: Details) -> str | None:
        return first_missing(("address", details.address))

    async def ready(self, desk: Desk, intent: str, run: RunTool) -> FlowTurn:
        # No read-back: an emergency's details go to the team without waiting for a yes.
        details = desk.state.details
        phone = details.phone or desk.caller_number
        await call(
            run,
            CaptureLead(),
            LeadDetails(reason=f"EMERGENCY at {details.address}", urgency="hot", phone=phone or UNSET),
        )
        desk.drop()
        return FlowTurn(self.name, [lines.EMERGENCY_SENT])
