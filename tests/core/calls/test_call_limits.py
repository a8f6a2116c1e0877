"""The tenant's call handling that does not depend on the phone line: silence, time limits, after-hours routing.
Run through simulated calls, which use the same CallSession as SIP."""

from __future__ import annotations

import tomllib

import numpy as np

from appliance.runtime import Runtime
from core.calls.limits import CHECK_IN_LINE, SILENCE_LINE, TIME_LIMIT_LINE
from core.calls.simulate import CallerTurn, simulate_call
from core.events import HangupRequested
from core.tenants.document import DAYS, parse_tenant

_SHOP = """
id = "{id}"
name = "Harbourside Print & Copy"
timezone = "Pacific/Auckland"
description = "Printing, copying and binding while you wait."
faq = "Black and white copies are 20 cents a page."

[telephony]
{telephony}
"""


def _tenant(runtime: Runtime, tenant_id: str, telephony: str, extra: str = "") -> str:
    doc = parse_tenant(tomllib.loads(_SHOP.format(id=tenant_id, telephony=telephony) + extra))
    runtime.tenants.save(doc, replace=True, actor="test")
    return doc.id


async def test_a_silent_caller_is_checked_on_then_told_goodbye(loaded: Runtime) -> None:
    tenant = _tenant(loaded, "harbourside-quiet", "silence_timeout_seconds = 5")
    session = loaded.new_call(tenant, channel="simulated", caller="test", callee=None, rate=8000)
    silence = np.zeros(8000 * 25, dtype=np.int16)
    result = await simulate_call(session, [CallerTurn(audio=silence)], realtime=True)
    replies = [t.reply for t in result.turns]
    assert replies[1:] == [CHECK_IN_LINE, SILENCE_LINE], replies
    assert isinstance(session.leaving, HangupRequested) and session.leaving.reason == "the caller stayed silent"


async def test_a_call_past_its_time_limit_is_ended_politely(loaded: Runtime) -> None:
    tenant = _tenant(loaded, "harbourside-brief", "max_call_minutes = 1\nsilence_timeout_seconds = 0")
    session = loaded.new_call(tenant, channel="simulated", caller="test", callee=None, rate=8000)
    result = await simulate_call(session, [CallerTurn(audio=np.zeros(8000 * 70, dtype=np.int16))], realtime=False)
    assert result.turns[-1].reply == TIME_LIMIT_LINE
    assert isinstance(session.leaving, HangupRequested)
    assert session.leaving.reason == "the call reached its time limit"


async def test_after_hours_calls_hear_the_after_hours_greeting_and_reach_nobody(loaded: Runtime) -> None:
    closed = "\n[hours]\n" + "\n".join(f'{day} = "closed"' for day in DAYS)
    tenant = _tenant(
        loaded,
        "harbourside-night",
        'after_hours_greeting = "Harbourside Print, we are closed. I am the AI assistant; I can take a message."\n'
        'after_hours_transfer = "off"',
        closed + '\n[transfer]\nnumber = "+6495550100"\n',
    )
    session = loaded.new_call(tenant, channel="simulated", caller="test", callee=None, rate=8000)
    result = await simulate_call(session, [CallerTurn(dtmf="0")], realtime=False)
    assert result.turns[0].reply.startswith("Harbourside Print, we are closed.")
    assert result.call.meta["after_hours"] is True
    assert len(result.turns) == 1 and session.leaving is None  # the key finds no one to transfer to
