"""When something breaks mid-call: the caller hears a graceful line, the failure is recorded, the call goes on."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest

from appliance.runtime import Runtime
from core.calls.simulate import CallerTurn, simulate_call
from core.dialogue.conversation import FALLBACK_REPLY
from core.dialogue.facts import FactSheet
from core.notify.config import NotificationSettings
from core.notify.notifier import Notifier
from tests.servers.mail import smtp_server


async def test_a_malformed_plan_gets_a_fallback_line_and_the_call_goes_on(
    loaded: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    original = loaded.settings
    # One token holds no more than the intent: the plan is cut off before its reply, as a broken model's would be.
    loaded.settings = msgspec.structs.replace(
        original, calls=msgspec.structs.replace(original.calls, max_reply_tokens=1)
    )
    try:
        session = loaded.new_call("example", channel="simulated", caller="test", callee=None, rate=8000)
        with caplog.at_level(logging.WARNING):
            broken = await simulate_call(session, [CallerTurn(text="Brunswick, near the station.")], realtime=False)
    finally:
        loaded.settings = original
    plan = broken.turns[1].plan
    assert plan is not None
    if plan["intent"] == "question":
        # A question's plan needs nothing after its intent, so one token is whole; the answer is a fact's line.
        facts = {fact.spoken for fact in FactSheet.of(loaded.tenants.get("example")).facts}
        assert broken.turns[1].reply in facts, broken.turns[1].reply
    else:
        # A plan cut off before its reply: the fallback line.
        assert broken.turns[1].reply == FALLBACK_REPLY and plan["parsed"] is False
        assert any("did not parse" in r.getMessage() or "did not parse" in str(r.msg) for r in caplog.records)
    assert broken.call.status == "ended"


async def test_an_smtp_server_that_refuses_is_retried_and_recorded(loaded: Runtime) -> None:
    with smtp_server() as (inbox, port):
        inbox.refuse = True
        notifier = Notifier(
            loaded.store, NotificationSettings(smtp_host="127.0.0.1", smtp_port=port, attempts=3, backoff_seconds=0.05)
        )
        original, loaded.notifier = loaded.notifier, notifier
        try:
            session = loaded.new_call("example", channel="simulated", caller="+61400999888", callee=None, rate=8000)
            result = await simulate_call(
                session, [CallerTurn(text="There's sewage coming up through the shower drain!")], realtime=False
            )
            await asyncio.wait_for(notifier.drain(), 10)
        finally:
            loaded.notifier = original
    assert "alerting the team" in result.turns[1].reply  # the caller is not told about the mail server
    rows = loaded.store.rows(
        "SELECT channel, status, attempts, last_error FROM notifications WHERE call_id = ? AND channel = 'email'",
        [result.call.id],
    )
    assert rows and all(status == "failed" and attempts == 3 and "554" in error for _, status, attempts, error in rows)
    assert inbox.messages == []
