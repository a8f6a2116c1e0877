"""A simulated call asks what only the knowledge base knows, and the reply says it: inline in the system prompt
when the knowledge is small, retrieved into the caller's turn when it is large."""

from __future__ import annotations

import pytest

from appliance.runtime import Runtime
from core.calls.simulate import CallerTurn, simulate_call
from core.tenants.document import parse_tenant

TENANT = {
    "id": "kb-call",
    "name": "Riverside Cycle Workshop",
    "timezone": "Europe/London",
    "numbers": ["+441134960800"],
    "description": "A bike repair workshop.",
}
NOTES = b"""# Workshop notes

## Wheel truing clinic
Every Saturday morning we run a wheel truing clinic where you learn to true your own wheels on our stands,
with a mechanic showing you how to find a buckle, adjust the spoke tension a quarter turn at a time and check
the dish of the wheel. Bring your own wheel or use one of our practice wheels. Tea and biscuits are included.
The clinic costs 18 pounds per person and lasts two hours. Places are limited to six people, so book ahead.

## Cargo bikes
We service cargo bikes from Urban Arrow, Tern, Riese and Muller and Bakfiets, including the hub gears, the
hydraulic brakes, the steering linkage and the electric assist. Cargo bikes need more time than normal bikes
because the front box has to come off and the longer chain and cables take longer to adjust. We collect cargo
bikes within three miles of the workshop. A cargo bike service costs 140 pounds and takes a full working day.
"""


async def _ask(runtime: Runtime, question: str) -> str:
    await runtime.warm_tenant("kb-call")
    session = runtime.new_call("kb-call", channel="simulated", caller="test", callee=None, rate=8000)
    result = await simulate_call(session, [CallerTurn(text=question)], realtime=False)
    return result.turns[-1].reply


@pytest.mark.slow
async def test_a_question_answered_only_by_the_knowledge_base(loaded: Runtime) -> None:
    loaded.tenants.save(parse_tenant(TENANT), replace=True, actor="test")
    kb = loaded.kb
    await kb.add_file("kb-call", "notes.md", NOTES)
    assert kb.summary("kb-call").knowledge.mode == "inline"
    reply = await _ask(loaded, "How much does the wheel truing clinic cost?")
    assert "18" in reply, reply

    kb.settings.inline_tokens = 20  # now too big to be inline: the call searches it per turn
    try:
        await kb.add_file("kb-call", "notes.md", NOTES)
        assert kb.summary("kb-call").knowledge.mode == "retrieval" and kb.inline("kb-call") is None
        reply = await _ask(loaded, "How much is a service for a cargo bike?")
        assert "140" in reply, reply
    finally:
        kb.settings.inline_tokens = 4000
        await kb.remove("kb-call", "notes.md")


@pytest.mark.slow
async def test_services_are_suggested_from_the_knowledge(loaded: Runtime) -> None:
    loaded.tenants.save(parse_tenant(TENANT), replace=True, actor="test")
    kb = loaded.kb
    await kb.add_file("kb-call", "notes.md", NOTES)
    try:
        suggested = await kb.suggest_services("kb-call")
    finally:
        await kb.remove("kb-call", "notes.md")
    names = " ".join(s.name.lower() for s in suggested)
    assert "cargo" in names or "truing" in names, suggested
    assert all(5 <= s.duration_minutes <= 480 for s in suggested)
    assert any("140" in s.price or "18" in s.price for s in suggested), suggested
