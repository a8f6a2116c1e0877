"""Reading out, cancelling and moving a booking only for the caller who made it: from the booking's own number
(the call's caller ID), or with the booking's reference and the name on it; never with a number the caller says.
Driven turn by turn as an LLM would, against the real tools, the built-in calendar in a real store and a loopback
SMS gateway."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog

from core.calendars.builtin import BuiltinCalendar
from core.dialogue.flow import Flow, FlowTurn
from core.notify.config import NotificationSettings
from core.notify.notifier import Notifier
from core.records import ToolCallRecord
from core.store.database import Store
from core.tenants.document import TenantDocument, parse_tenant
from core.tools.base import ToolBox, ToolContext
from core.tools.registry import tools_for
from tests.servers.http import Recorded, recording_server

ZONE = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 10, 9, 5, tzinfo=ZONE)  # a Tuesday morning
CALLER = "+13125550142"

TENANT: dict[str, Any] = {
    "id": "harbor-vet",
    "name": "Harbor Street Vets",
    "timezone": "America/Chicago",
    "numbers": ["+13125550100"],
    "hours": {d: "08:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "services": [
        {"name": "Vaccination visit", "duration_minutes": 30},
        {"name": "Dental cleaning", "duration_minutes": 90},
    ],
    "booking": {"slot_minutes": 30, "buffer_minutes": 0, "lead_minutes": 30},
}


@pytest.fixture
def sms() -> Iterator[tuple[Recorded, str]]:
    with recording_server() as (recorded, url):
        yield recorded, url


class Call:
    """One call to the business, from a caller ID or none, on a store that outlives it."""

    def __init__(self, store: Store, sms_url: str, caller: str | None, tenant: TenantDocument | None = None) -> None:
        tenant = tenant or parse_tenant(TENANT)
        self.store = store
        self.notifier = Notifier(
            store, NotificationSettings(sms_gateway_url=sms_url, attempts=1, allow_hosts=["127.0.0.1"])
        )
        context = ToolContext(
            tenant=tenant, call_id=f"call_{caller}", caller_number=caller, now=lambda: NOW,
            calendar=BuiltinCalendar(store, tenant.id, ZONE), notifier=self.notifier, store=store, knowledge=None,
        )  # fmt: skip
        self.toolbox = ToolBox(context, tools_for(tenant), timeout_s=2.0)
        self.flow = Flow(
            tenant, now=lambda: NOW, caller_number=caller, has_tool=self.toolbox.has, retrieval=False,
            log=structlog.get_logger("test"),
        )  # fmt: skip
        self.tools: list[ToolCallRecord] = []

    async def turn(self, intent: str, text: str, **slots: str) -> FlowTurn:
        fast = self.flow.fast_path(text)
        if fast is not None:
            intent, found = fast
            slots = {**found, **slots}

        async def run(name: str, args: dict[str, Any]) -> ToolCallRecord:
            record = await self.toolbox.run(name, args)
            self.tools.append(record)
            return record

        return await self.flow.turn(intent, dict(slots), text, run)


async def _book(store: Store, sms_url: str, caller: str | None, name: str = "Priya Natarajan") -> tuple[str, str]:
    """A vaccination tomorrow at 2 pm, booked by phone; what the caller heard, and the booking's reference."""
    call = Call(store, sms_url, caller)
    await call.turn("booking", "a vaccination tomorrow at 2pm", service="vaccination", when="tomorrow at 2pm")
    await call.turn("other", name)
    if caller:
        await call.turn("yes", "yes")  # the number the call comes from is the one to reach them on
    else:
        await call.turn("other", "0 7 9 1 1 2 3 4 5 6 7")
    done = await call.turn("yes", "yes please")
    await call.notifier.drain()
    [reference] = [r[0] for r in store.rows("SELECT reference FROM bookings ORDER BY created_at DESC LIMIT 1")]
    return " ".join(done.lines), reference


def _statuses(store: Store) -> list[str]:
    return [r[0] for r in store.rows("SELECT status FROM bookings ORDER BY created_at")]


async def test_a_booking_is_told_its_reference_and_texted_it(sms: tuple[Recorded, str]) -> None:
    recorded, url = sms
    store = Store.memory()
    said, reference = await _book(store, url, CALLER)
    assert len(reference) == 6 and reference.isdigit()
    spoken = f"{' '.join(reference[:3])}, {' '.join(reference[3:])}"
    assert f"Your booking reference is {spoken}." in said and "We'll send you a text to confirm." in said
    [text] = recorded.requests
    assert text["body"]["to"] == CALLER and f"Ref {reference}" in text["body"]["text"]


async def test_the_caller_id_that_made_it_finds_and_cancels_it_without_questions(sms: tuple[Recorded, str]) -> None:
    _, url = sms
    store = Store.memory()
    await _book(store, url, CALLER)
    call = Call(store, url, "13125550142")  # the same number, as a carrier may send it without its +
    found = await call.turn("cancel", "I need to cancel my appointment")
    assert found.lines == ["I can see your vaccination visit on tomorrow at 2 pm. Shall I cancel it?"]
    done = await call.turn("yes", "yes")
    assert done.lines[0] == "Done: your booking for tomorrow at 2 pm is cancelled."
    assert _statuses(store) == ["cancelled"]
    assert all("phone" not in r.arguments for r in call.tools)


async def test_a_number_the_caller_says_finds_nothing_the_reference_and_name_do(sms: tuple[Recorded, str]) -> None:
    """Without a caller ID (a withheld number, a test call from the browser) the caller is asked for the booking's
    reference and name; the number they say is not used to look anything up."""
    _, url = sms
    store = Store.memory()
    _, reference = await _book(store, url, CALLER)
    call = Call(store, url, None)
    asked = await call.turn("cancel", "cancel my booking please, it's under 312 555 0142", phone="312 555 0142")
    assert (
        asked.lines == ["What's the booking reference? It's the six-digit number we gave you when you booked."]
        and asked.expect == "digits"
    )
    assert call.tools == []  # nothing looked up by the number said
    name = await call.turn("other", " ".join(reference))
    assert name.lines == ["And what name is the booking under?"]
    found = await call.turn("other", "Natarajan")
    assert found.lines == ["I can see your vaccination visit on tomorrow at 2 pm. Shall I cancel it?"]
    done = await call.turn("yes", "yes")
    assert "is cancelled" in done.lines[0]
    assert _statuses(store) == ["cancelled"]
    assert call.tools[0].arguments == {"action": "find", "reference": reference, "name": "Natarajan"}


async def test_a_reference_with_the_wrong_name_is_asked_once_more_then_refused_plainly(
    sms: tuple[Recorded, str],
) -> None:
    _, url = sms
    store = Store.memory()
    _, reference = await _book(store, url, CALLER)
    call = Call(store, url, None)
    await call.turn("cancel", "I want to cancel my appointment")
    await call.turn("other", reference)
    missed = await call.turn("other", "John Smith")
    spoken = f"{' '.join(reference[:3])}, {' '.join(reference[3:])}"
    assert missed.lines == [
        f"Sorry, I can't find a booking with reference {spoken} under the name John Smith.",
        "Could you check the reference and say it again?",
    ]
    await call.turn("other", reference)
    refused = await call.turn("other", "Jane Smith")
    assert refused.lines[0].startswith("Sorry, I still can't find a booking with that reference and name")
    assert call.flow.state.task is None  # back to asking what the caller wants
    assert _statuses(store) == ["booked"]
    assert all(r.ok and r.result == {"bookings": []} for r in call.tools)


async def test_another_caller_id_is_asked_for_the_reference_and_can_move_it(sms: tuple[Recorded, str]) -> None:
    """A caller on another phone is told nothing under that number is found, gives the reference and name, and
    moves the booking; the moved booking keeps its reference, and the text goes to the caller ID of this call."""
    recorded, url = sms
    store = Store.memory()
    _, reference = await _book(store, url, CALLER)
    other = "+13125550199"
    call = Call(store, url, other)
    asked = await call.turn("reschedule", "I'd like to move my appointment")
    assert asked.lines == [
        "I can't see a booking under the number you're calling from.",
        "What's the booking reference? It's the six-digit number we gave you when you booked.",
    ]
    await call.turn("other", "it's " + " ".join(reference))
    when = await call.turn("other", "Priya Natarajan")
    assert when.lines == ["I can see your vaccination visit on tomorrow at 2 pm. When would you like to move it to?"]
    readback = await call.turn("reschedule", "Thursday at 10am", when="Thursday at 10am")
    assert "Shall I do that?" in readback.lines[0]
    moved = await call.turn("yes", "yes")
    assert moved.lines[0] == "Done: your vaccination visit is now Thursday the 12th of March at 10 am."
    assert "We'll send you a text to confirm." in moved.lines
    assert not any("new booking reference" in line for line in moved.lines)  # the reference stays
    rows = store.rows("SELECT status, reference, customer_phone FROM bookings ORDER BY created_at")
    assert rows == [("cancelled", reference, CALLER), ("booked", reference, CALLER)]
    await call.notifier.drain()
    assert recorded.requests[-1]["body"]["to"] == other


async def test_the_tool_itself_refuses_a_booking_it_cannot_tie_to_the_caller(sms: tuple[Recorded, str]) -> None:
    """Whatever the dialogue asks, the tool matches only the call's caller ID, or a reference with its name: a
    phone argument (from an old prompt, or a model's guess) is not one it takes."""
    _, url = sms
    store = Store.memory()
    _, reference = await _book(store, url, CALLER)
    [booking_id] = [r[0] for r in store.rows("SELECT id FROM bookings")]
    stranger = Call(store, url, "+13125550111").toolbox
    schema = stranger.get("cancel_or_reschedule").parameters
    assert "phone" not in schema["properties"] and schema["properties"]["reference"]["type"] == "string"
    cancel = {"action": "cancel", "booking_id": booking_id}
    for args in (cancel, {**cancel, "phone": CALLER}, {**cancel, "reference": reference, "name": "Someone Else"}):
        record = await stranger.run("cancel_or_reschedule", args)
        assert record.ok and record.result == {"done": False, "reason": "no booking found", "bookings": []}, args
    assert _statuses(store) == ["booked"]
    record = await stranger.run("cancel_or_reschedule", {**cancel, "reference": reference, "name": "priya natarajan"})
    assert record.ok and record.result["done"] is True
    assert _statuses(store) == ["cancelled"]
