"""Putting the caller through to a person, once they have said yes to the offer."""

from __future__ import annotations

from core.dialogue import lines
from core.dialogue.tasks.base import Desk, FlowTurn, Task
from core.tools.base import RunTool


class Transfer(Task):
    """Only ever at the read-back stage: the flow offers a person (escalation words) and waits for a yes."""

    name = "transfer"
    takes_changes = False

    def declined(self, desk: Desk) -> FlowTurn | None:
        desk.drop()
        return FlowTurn("no", ["No problem.", lines.ANYTHING_ELSE])

    async def act(self, desk: Desk, run: RunTool) -> FlowTurn:
        return await desk.transfer(run)
