"""A business's webhooks told what its calls did: the booking as it is made, during the call, and the call once it
ended with its outcomes and summary, after the post-call analysis."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path

from appliance.runtime import Runtime
from core.aftercall.worker import AnalysisWorker
from core.calls.simulate import CallerTurn, simulate_call
from core.security.secrets import SecretBox, SecretStore
from core.store.calls import CallRepository
from core.store.database import Store
from tests.servers.http import recording_server
from web.store.business import EVENTS, BusinessSettings
from web.webhooks import WebhookSender

BOOKING = [
    "Hi, I'd like to book a check-up and cleaning please.",
    "next Thursday at 11am",
    "Maria Gonzalez",
    "three one two, five five five, zero one six six",
    "yes, that's right",
]


async def test_a_booking_and_the_calls_end_reach_the_business(loaded: Runtime, tmp_path: Path) -> None:
    store = Store.memory()
    business = BusinessSettings(store, SecretStore(store, SecretBox.from_file(tmp_path / "k")))
    with recording_server() as (received, url):
        _, key = business.add_webhook("lakeside-dental", url, list(EVENTS))
        sender = WebhookSender(business, lambda tenant_id: ["127.0.0.1"], backoff_s=0.01)
        loaded.live.on_tool.append(sender.tool_called)
        loaded.live.on_ended.append(sender.call_ended)
        try:
            session = loaded.new_call("lakeside-dental", channel="simulated", caller="+13125550142", callee=None,
                                      rate=8000)  # fmt: skip
            result = await simulate_call(session, [CallerTurn(text=line) for line in BOOKING], realtime=False)
            await sender.drain()
        finally:
            loaded.live.on_tool.remove(sender.tool_called)
            loaded.live.on_ended.remove(sender.call_ended)
        # The booking, as it was made; not yet the call's end: its summary is still to be written.
        [made] = [r["body"] for r in received.requests]
        assert made["event"] == "booking.created" and made["call_id"] == result.call.id
        assert made["details"]["name"] == "Maria Gonzalez" and made["result"]["booked"] is True
        # The box restarted before the analysis: the call is still pending, and its end is told once it is written.
        own = Store.open(tmp_path / "box.duckdb")
        calls = CallRepository(own)
        calls.start(loaded.calls.get(result.call.id))
        for turn in loaded.calls.turns(result.call.id):
            calls.add_turn("lakeside-dental", result.call.id, turn)
            for tool in turn.tool_calls:
                calls.add_tool_call("lakeside-dental", result.call.id, turn.idx, tool)
        calls.finish(loaded.calls.get(result.call.id))
        worker = AnalysisWorker(calls, loaded.models.llm, busy=lambda: False, settle_s=0.0)
        worker.on_analysed.append(sender.call_ended)
        running = asyncio.create_task(worker.run())
        for _ in range(2400):
            if len(received.requests) == 2:
                break
            await asyncio.sleep(0.05)
        running.cancel()
        await sender.drain()
    own.close()
    ended = received.requests[-1]
    call = ended["body"]["call"]
    assert ended["body"]["event"] == "call.ended" and call["outcomes"] == ["booking_created"]
    assert "booked for Thursday" in call["analysis"]["summary"] and call["analysis_state"] == "done"
    signed = "sha256=" + hmac.new(key.encode(), ended["raw"], hashlib.sha256).hexdigest()
    assert ended["headers"]["X-Appliance-Signature"] == signed
