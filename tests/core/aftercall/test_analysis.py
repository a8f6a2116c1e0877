"""Post-call analysis of scripted calls whose outcome is known: the outcome comes from what happened (exact), the
summary names only what was said, the sentiment is the caller's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from appliance.runtime import Runtime
from bench.aftercall import scripted_calls
from core.aftercall.analysis import analyse, transcript, untraceable
from core.aftercall.follow_up import summary_to_owner
from core.calls.simulate import CallerTurn, simulate_call
from core.notify.config import NotificationSettings
from core.notify.notifier import Notifier
from core.records import CallAnalysis, CallRecord
from core.store.database import Store
from tests.servers.mail import smtp_server

SCRIPTS = scripted_calls()


@pytest.fixture(scope="module")
async def analysed(loaded: Runtime) -> AsyncIterator[dict[str, tuple[CallRecord, str, CallAnalysis]]]:
    found = {}
    for script in SCRIPTS:
        session = loaded.new_call(script.tenant, channel="simulated", caller=script.caller, callee=None, rate=8000)
        result = await simulate_call(session, [CallerTurn(text=line) for line in script.said], realtime=False)
        call = loaded.calls.get(result.call.id)
        turns = loaded.calls.turns(call.id)
        found[script.name] = (call, transcript(turns), await analyse(loaded.models.llm(), call, turns))
    for name, (call, said, analysis) in found.items():
        print(f"\n--- {name}: {call.outcomes}\n{said}\n=> {analysis}")
    yield found


async def test_the_outcome_is_what_happened(analysed: dict[str, tuple[CallRecord, str, CallAnalysis]]) -> None:
    got = {name: call.outcomes for name, (call, _, _) in analysed.items()}
    assert got == {script.name: script.outcomes for script in SCRIPTS}
    assert all(call.outcome == call.outcomes[0] for call, _, _ in analysed.values())


async def test_summaries_name_only_what_was_said(analysed: dict[str, tuple[CallRecord, str, CallAnalysis]]) -> None:
    for name, (_, said, analysis) in analysed.items():
        assert analysis.summary and not untraceable(analysis.summary, said), (name, analysis)
        assert all(not untraceable(topic, said) for topic in analysis.topics), (name, analysis)


async def test_the_sentiment_is_the_callers(analysed: dict[str, tuple[CallRecord, str, CallAnalysis]]) -> None:
    assert analysed["angry complaint"][2].sentiment == "negative"
    assert analysed["booked"][2].sentiment != "negative"
    for _, _, analysis in analysed.values():
        # A clear feeling is the likelier label; neutral is also what a weak one is taken for (any probability).
        assert 0 < analysis.sentiment_confidence <= 1
        assert analysis.sentiment == "neutral" or analysis.sentiment_confidence >= 0.5


async def test_a_lead_is_scored(analysed: dict[str, tuple[CallRecord, str, CallAnalysis]]) -> None:
    lead = analysed["lead"][2]
    assert lead.lead_score in (1, 2, 3, 4, 5)
    assert all(a.lead_score is None for name, (_, _, a) in analysed.items() if name != "lead")


async def test_the_owner_gets_the_summary_of_a_call_that_left_a_lead(
    loaded: Runtime, analysed: dict[str, tuple[CallRecord, str, CallAnalysis]]
) -> None:
    with smtp_server() as (inbox, port):
        settings = NotificationSettings(smtp_host="127.0.0.1", smtp_port=port, allow_hosts=["127.0.0.1"])
        notifier = Notifier(Store.memory(), settings)
        sent = {}
        for name, (call, _, analysis) in analysed.items():
            call.analysis = analysis
            sent[name] = summary_to_owner(notifier, loaded.tenants.get(call.tenant_id), call)
        await notifier.drain()
    assert [name for name, yes in sent.items() if yes] == ["lead"]  # the one that left the owner work
    [mail] = inbox.messages
    body = mail.get_payload(decode=True).decode()
    assert "left a lead" in str(mail["Subject"]) and analysed["lead"][2].summary in body
    assert "Lead score:" in body
