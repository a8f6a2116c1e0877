"""The tools a tenant's receptionist has: the built-in ones its skills allow, and its own HTTP tools."""

from __future__ import annotations

from core.tenants.document import TenantDocument
from core.tools.base import Tool
from core.tools.booking import CheckAvailability, CreateBooking
from core.tools.changes import CancelOrReschedule
from core.tools.contact import CaptureLead, EscalateEmergency, TakeMessage
from core.tools.handover import AnswerQuestion, TransferToHuman
from core.tools.http_tool import TenantHttpTool

_BY_SKILL: dict[str, list[Tool]] = {
    "booking": [CheckAvailability(), CreateBooking(), CancelOrReschedule()],
    "leads": [CaptureLead()],
    "messages": [TakeMessage()],
    "emergencies": [EscalateEmergency()],
    "transfer": [TransferToHuman()],
    "knowledge": [AnswerQuestion()],
}


def tools_for(tenant: TenantDocument) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for skill, provided in _BY_SKILL.items():
        if tenant.has(skill):
            tools.update({tool.name: tool for tool in provided})
    for spec in tenant.tools:
        tools[spec.name] = TenantHttpTool(spec)
    return tools
