"""A business's own tool (an HTTP endpoint in its tenant file) as a task: its parameters are the details, and its
answer is what the caller is told, in the LLM's words."""

from __future__ import annotations

from typing import Any

from core.dialogue import lines
from core.dialogue.tasks.base import Desk, Details, FlowTurn, Task
from core.knowledge import Passage
from core.tenants.document import HttpTool
from core.tools.base import RunTool

# Details the flow reads for every task that a tenant tool may also name as its parameters.
_SHARED = ("name", "phone", "address", "reason", "message", "urgency")


class OwnTool(Task):
    def __init__(self, spec: HttpTool) -> None:
        self.name = spec.name
        self._properties: dict[str, Any] = spec.parameters.get("properties", {})
        self._required: list[str] = spec.parameters.get("required", [])

    async def take(self, desk: Desk, slots: dict[str, Any], text: str, run: RunTool) -> str | FlowTurn | None:
        for key in self._properties:
            if slots.get(key) not in (None, ""):
                desk.state.details.own[key] = slots[key]
        return None

    def _value(self, details: Details, key: str) -> Any:
        """A parameter as the caller gave it; one named like a shared detail (a name, a phone number) may have
        been given as that."""
        if key in details.own:
            return details.own[key]
        return getattr(details, key) if key in _SHARED else None

    def missing(self, details: Details) -> str | None:
        return next((key for key in self._required if self._value(details, key) in (None, "")), None)

    def question(self, missing: str, again: bool) -> str | None:
        if missing not in self._properties:
            return None
        what = self._properties[missing].get("description") or missing.replace("_", " ")
        return f"{'Sorry, I missed that. ' if again else ''}What's the {what}?"

    async def ready(self, desk: Desk, intent: str, run: RunTool) -> FlowTurn:
        # Nothing changes for the caller: it runs without a read-back, and the LLM says what it answered.
        details = desk.state.details
        args = {key: value for key in self._properties if (value := self._value(details, key)) is not None}
        record = await run(self.name, args)
        desk.drop()
        if not record.ok:
            return FlowTurn(self.name, [lines.UNAVAILABLE])
        return FlowTurn(self.name, answer_from=[Passage(_as_text(record.result), self.name, "", 1.0)])


def _as_text(result: dict[str, Any]) -> str:
    return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in result.items())
