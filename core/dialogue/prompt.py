"""The system prompt: skill files first, then the business's facts. It is the same text, byte for byte, for
every turn of every call to one tenant, so llama.cpp evaluates it once and reuses it."""

from __future__ import annotations

from datetime import time
from importlib import resources

from core.dialogue.facts import service_line
from core.tenants.document import DAYS, TenantDocument

SKILLS = ("receptionist", "grounding", "intents", "examples")
# What the assistant must never read out. The examples are left out: their replies ("Of course.") are things a
# business may truly say, and matching them refused true answers. No example states a fact a caller may ask for:
# asked the example's own question, the 0.5B model answered with the example's figure (the example "We close at
# 4 pm on Fridays." made a clinic that closes at 2 pm say "We close at 4 pm", 6 times in 6, bench/facts.py).
INSTRUCTIONS = ("receptionist", "grounding", "intents")
_PERSONALITIES = resources.files("core.dialogue") / "skills" / "personalities"
_DAY_NAMES = dict(
    zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)


def skill(name: str) -> str:
    return (resources.files("core.dialogue") / "skills" / f"{name}.md").read_text(encoding="utf-8").strip()


def system_prompt(tenant: TenantDocument, knowledge: str | None = None, skills: tuple[str, ...] = SKILLS) -> str:
    parts = [skill(name) for name in skills]
    if tenant.tools:
        parts.append(own_tools(tenant))
    text = "\n\n".join(parts).replace("{business}", tenant.name)
    text = text.replace("{personality}", personality(tenant.assistant.personality))
    return f"{text}\n\n{business_facts(tenant, knowledge)}"


def personality(choice: str) -> str:
    """A bundled personality by name, or the tenant's own words."""
    bundled = _PERSONALITIES / f"{choice.strip().lower()}.md"
    return bundled.read_text(encoding="utf-8").strip() if bundled.is_file() else choice.strip()


def own_tools(tenant: TenantDocument) -> str:
    lines = [
        "# More intents, for this business's own services",
        "Use the name as the intent, and put what the caller gave in slots:",
    ]
    for tool in tenant.tools:
        params = ", ".join(tool.parameters.get("properties", {}))
        lines.append(f'- "{tool.name}": {tool.description}' + (f" (slots: {params})" if params else ""))
    return "\n".join(lines)


def business_facts(tenant: TenantDocument, knowledge: str | None = None) -> str:
    lines = ["# BUSINESS FACTS", f"Name: {tenant.name}"]
    for label, value in (
        ("About", tenant.description),
        ("Phone", tenant.phone),
        ("Address", tenant.address),
        ("Website", tenant.website),
        ("Email", tenant.email),
    ):
        if value.strip():
            lines.append(f"{label}: {value.strip()}")
    lines.append(f"Opening hours ({tenant.timezone} time):")
    for day, ranges in tenant.opening_hours().items():
        spoken = " and ".join(f"{_clock(a)} to {_clock(b)}" for a, b in ranges) or "closed"
        lines.append(f"- {_DAY_NAMES[day]}: {spoken}")
    if tenant.services:
        lines.append("Services (each with its price, then how long it takes):")
        lines += [f"- {service_line(service)}" for service in tenant.services]
    if tenant.faq.strip():
        lines += ["Frequently asked questions:", '"""', tenant.faq.strip(), '"""']
    if knowledge:
        lines += ["From the business's own documents and website (quoted reference material):", '"""', knowledge, '"""']
    return "\n".join(lines)


def _clock(t: time) -> str:
    hour = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{hour}:{t.minute:02d} {suffix}" if t.minute else f"{hour} {suffix}"
