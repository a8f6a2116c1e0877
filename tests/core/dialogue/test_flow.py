"""The receptionist's flow, driven turn by turn with the intents and details an LLM would extract, against its
real tools: the built-in calendar in a real store, notifications to a real SMTP server and a loopback SMS
gateway, a tenant's own HTTP tool on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog

from appliance.runtime import Runtime
from core.calendars.builtin import BuiltinCalendar
from core.dialogue.facts import FactVectors
from core.dialogue.flow import Flow, FlowTurn
from core.events import HangupRequested, TransferRequested
from core.notify.config import NotificationSettings
from core.notify.notifier import Notifier
from core.store.database import Store
from core.tenants.document import TenantDocument, parse_tenant
from core.tools.base import ToolBox, ToolContext
from core.tools.registry import tools_for
from tests.servers.http import Recorded, recording_server
from tests.servers.mail import Inbox, smtp_server

ZONE = ZoneInfo("America/Chicago")
NOW = datetime(2026, 3, 10, 9, 5, tzinfo=ZONE)  # a Tuesday morning

TENANT: dict[str, Any] = {
    "id": "harbor-vet",
    "name": "Harbor Street Vets",
    "timezone": "America/Chicago",
    "country_code": "1",  # callers' numbers in +1 are at home, and get their booking by text
    "hours": {d: "08:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "services": [
        {"name": "Vaccination visit", "duration_minutes": 30},
        {"name": "Dental cleaning", "duration_minutes": 90},
    ],
    "transfer": {"number": "sip:desk@127.0.0.1"},
    "emergency": {
        "phrases": ["not breathing", "hit by a car", "poisoned"],
        "safety_line": "If your pet is not breathing, keep them warm and come straight in.",
    },
    "assistant": {"escalation_words": ["complaint"]},
    "booking": {"slot_minutes": 30, "buffer_minutes": 0, "lead_minutes": 30},
}


@pytest.fixture
def services() -> Iterator[tuple[Inbox, int, Recorded, str]]:
    with smtp_server() as (inbox, smtp_port), recording_server() as (sms, sms_url):
        yield inbox, smtp_port, sms, sms_url


class Harness:
    def __init__(
        self,
        tenant: TenantDocument,
        smtp_port: int,
        sms_url: str,
        store: Store | None = None,
        vectors: FactVectors | None = None,
    ) -> None:
        self.store = store or Store.memory()
        settings = NotificationSettings(
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            sms_gateway_url=sms_url,
            attempts=2,
            backoff_seconds=0.05,
            allow_hosts=["127.0.0.1"],  # the gateway is a loopback fake
        )
        self.notifier = Notifier(self.store, settings)
        context = ToolContext(
            tenant=tenant,
            call_id="call_test",
            caller_number="+13125550142",
            now=lambda: NOW,
            calendar=BuiltinCalendar(self.store, tenant.id, ZONE),
            notifier=self.notifier,
            store=self.store,
            knowledge=None,
        )
        self.toolbox = ToolBox(context, tools_for(tenant), timeout_s=2.0)
        self.refused: list[str] = []  # transfer targets the flow refused
        self.flow = Flow(
            tenant,
            now=lambda: NOW,
            caller_number="+13125550142",
            has_tool=self.toolbox.has,
            retrieval=False,
            log=structlog.get_logger("test"),
            refused_transfer=self.refused.append,
            vectors=vectors,
        )
        self.tools: list[Any] = []

    async def turn(self, intent: str, text: str, **slots: str) -> FlowTurn:
        fast = self.flow.fast_path(text)
        if fast is not None:
            intent, found = fast
            slots = {**found, **slots}

        async def run(name: str, args: dict[str, Any]) -> Any:
            record = await self.toolbox.run(name, args)
            self.tools.append(record)
            return record

        return await self.flow.turn(intent, dict(slots), text, run)

    def bookings(self) -> list[tuple[Any, ...]]:
        return self.store.rows("SELECT starts_at, customer_name, customer_phone, status FROM bookings")


def _tenant(**changes: Any) -> TenantDocument:
    return parse_tenant({**TENANT, **changes})


async def test_booking_from_first_words_to_confirmation(services: tuple[Inbox, int, Recorded, str]) -> None:
    inbox, smtp_port, sms, sms_url = services
    h = Harness(_tenant(notifications={"owner_email": "owner@harbor.example"}), smtp_port, sms_url)
    asked = await h.turn(
        "booking",
        "I'd like to book a vaccination for my dog tomorrow at 2pm",
        service="vaccination",
        when="tomorrow at 2pm",
    )
    assert asked.lines == ["Can I have your name, please?"]
    asked = await h.turn("other", "Priya Natarajan")
    assert "plus 1, 3 1 2, 5 5 5, 0 1 4 2" in asked.lines[0]  # offers the number the call came from
    readback = await h.turn("yes", "yes that's fine")
    [line] = readback.lines
    assert "vaccination visit" in line and "tomorrow at 2 pm" in line and "Priya Natarajan" in line
    assert h.bookings() == []  # nothing is booked before an explicit yes
    done = await h.turn("yes", "yes please")
    assert "You're booked in for tomorrow at 2 pm" in done.lines[0]
    [(start, name, phone, status)] = h.bookings()
    # 2 pm in Chicago on 11 March 2026 (CDT since 8 March) is 19:00 UTC.
    assert start == datetime(2026, 3, 11, 19, 0) and name == "Priya Natarajan" and phone == "+13125550142"
    assert status == "booked"
    await h.notifier.drain()
    assert sms.requests and sms.requests[0]["body"]["to"] == "+13125550142"
    assert "booked" in sms.requests[0]["body"]["text"]
    assert inbox.messages and "New booking" in str(inbox.messages[0]["Subject"])
    names = [r.name for r in h.tools]
    assert names == ["check_availability", "create_booking"]
    assert all(r.latency_ms < 1000 for r in h.tools)


async def test_the_first_half_of_a_card_taken_for_a_phone_number_is_dropped_and_asked_for_again(
    services: tuple[Inbox, int, Recorded, str],
) -> None:
    """A caller reads out half a card where the phone number was asked for; eight digits pass as a number, and the
    read-back comes. When the next turn shows it was a card, the task must not book with it: the number is
    dropped and asked for again."""
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url)
    await h.turn("booking", "dental cleaning on Thursday at 10am", service="dental cleaning", when="Thursday at 10am")
    await h.turn("other", "Sam Okafor")
    await h.turn("other", "no, a different one")
    readback = await h.turn("other", "4111 1111")
    assert "on 4 1, 1 1 1, 1 1 1." in readback.lines[0] and "Shall I book that?" in readback.lines[0]
    h.flow.forget(("41111111",))
    assert h.flow.state.details.phone is None and h.flow.state.details.name == "Sam Okafor"
    again = h.flow.ask_again()
    assert again is not None and "number" in again.lines[0], again
    assert h.bookings() == []


async def test_a_slot_taken_a_moment_ago_is_refused_with_alternatives(
    services: tuple[Inbox, int, Recorded, str],
) -> None:
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url)
    await h.turn("booking", "dental cleaning on Thursday at 10am", service="dental cleaning", when="Thursday at 10am")
    await h.turn("other", "Sam Okafor")
    await h.turn("other", "no, it's 0 7 9 1 1 2 3 4 5 6 7")
    readback = await h.turn("other", "0 7 9 1 1 2 3 4 5 6 7")
    assert "Shall I book that?" in readback.lines[0]
    # Another call takes 10:00 while this caller listens to the read-back.
    other = Harness(_tenant(), smtp_port, sms_url, store=h.store)
    await other.turn(
        "booking", "dental cleaning on Thursday at 10am", service="dental cleaning", when="Thursday at 10am"
    )
    await other.turn("other", "Lee Chan")
    await other.turn("yes", "yes")
    await other.turn("yes", "yes")
    taken = await h.turn("yes", "yes")
    assert taken.lines[0].startswith("Sorry, that time was just taken.")
    assert "Thursday the 12th of March at 11:30 am" in taken.lines[0]  # 10:00-11:30 is now busy
    assert [row[1] for row in h.bookings()] == ["Lee Chan"]
    picked = await h.turn("other", "the later one please")
    assert "Shall I book that?" in picked.lines[0] and "11:30 am" in picked.lines[0]


async def test_changing_your_mind_books_nothing(services: tuple[Inbox, int, Recorded, str]) -> None:
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url)
    await h.turn("booking", "vaccination Friday at 9", service="vaccination", when="Friday at 9")
    await h.turn("other", "Ana Souza")
    readback = await h.turn("yes", "yes")
    assert "Shall I book that?" in readback.lines[0]
    change = await h.turn("no", "no")
    assert change.lines == ["What would you like to change?"]
    dropped = await h.turn("no", "actually, never mind, I'll call back another time")
    assert dropped.lines[0] == "No problem, I haven't booked anything."
    assert h.bookings() == []


async def test_giving_up_overrules_a_booking_guess_but_a_new_time_does_not(
    services: tuple[Inbox, int, Recorded, str],
) -> None:
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url)
    await h.turn("booking", "vaccination Friday at 9", service="vaccination", when="Friday at 9")
    moved = await h.turn("booking", "forget Friday, make it Thursday at 10", when="Thursday at 10")
    assert h.flow.state.task == "booking", moved.lines  # a change of time, not the end of the task
    # A small model calls this "booking" too (the topic is the booking); the flow knows better.
    dropped = await h.turn("booking", "actually no, forget it, I'll think about it")
    assert dropped.lines[0] == "No problem, I haven't booked anything."
    assert h.bookings() == []


def test_an_emergency_word_inside_what_the_business_sells_is_no_emergency(
    services: tuple[Inbox, int, Recorded, str],
) -> None:
    """ "Smoke" is an electrician's emergency, and "hardwired smoke alarms" one of its services: asking the price of
    the service is a question, while smoke said of itself, even beside the service's name, is still an alarm."""
    _, smtp_port, _, sms_url = services
    tenant = _tenant(
        services=[{"name": "Smoke alarm installation", "description": "hardwired smoke alarms for rentals"}],
        emergency={"phrases": ["smoke", "sparks"], "safety_line": "If there is smoke or fire, call 911 now."},
    )
    flow = Harness(tenant, smtp_port, sms_url).flow
    for question in ("What do you charge for one of those hardwired smoke alarms?", "Can you fit smoke-alarm units?"):
        assert flow.fast_path(question) is None, question
    for alarm in ("There's smoke coming out of the smoke alarm!", "I can smell smoke in the hallway", "SPARKS!"):
        assert flow.fast_path(alarm) == ("emergency", {}), alarm


async def test_emergency_alerts_the_owner_at_once(services: tuple[Inbox, int, Recorded, str]) -> None:
    inbox, smtp_port, sms, sms_url = services
    tenant = _tenant(transfer={}, notifications={"owner_email": "vet@harbor.example", "owner_sms": "+13125550100"})
    h = Harness(tenant, smtp_port, sms_url)
    alert = await h.turn("other", "My cat ate lilies, I think she's been poisoned!")
    assert alert.intent == "emergency"
    assert alert.lines[0] == tenant.emergency.safety_line
    assert "alerting the team right now" in alert.lines[1]
    assert alert.expect == "address"
    for _ in range(50):  # the alert goes out while the caller is still on the line
        if inbox.messages and sms.requests:
            break
        await asyncio.sleep(0.05)
    assert "EMERGENCY" in str(inbox.messages[0]["Subject"]) and "poisoned" in inbox.messages[0].get_payload()
    assert sms.requests[0]["body"]["to"] == "+13125550100"
    details = await h.turn("other", "14 Pier Road, Chicago")
    assert "The team has your details" in details.lines[0]


async def test_a_person_when_asked_or_a_message_when_nobody_is_there(
    services: tuple[Inbox, int, Recorded, str],
) -> None:
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url)
    handover = await h.turn("person", "can I talk to someone please")
    assert isinstance(handover.after, TransferRequested) and handover.after.target == "sip:desk@127.0.0.1"
    alone = Harness(_tenant(transfer={}), smtp_port, sms_url)
    nobody = await alone.turn("person", "can I talk to someone please")
    assert nobody.after is None and "take a message" in nobody.lines[0]
    offer = await h.turn("other", "I want to make a complaint about my last visit")
    assert offer.lines == ["I can put you through to someone from the team. Would you like that?"]
    accepted = await h.turn("yes", "yes")
    assert isinstance(accepted.after, TransferRequested)


async def test_a_transfer_tool_of_the_business_s_own_reaches_only_its_transfer_numbers(
    services: tuple[Inbox, int, Recorded, str],
) -> None:
    """A business's HTTP tool may stand in for the built-in transfer tool; whatever number it answers with, the
    caller is put through only to one the business has set up, and otherwise offered to leave a message."""
    _, smtp_port, _, sms_url = services
    with recording_server() as (endpoint, url):
        tool = {
            "name": "transfer_to_human",
            "description": "Who is on duty now",
            "url": url + "/on-duty",
            "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}},
        }
        tenant = _tenant(
            tools=[tool],
            transfer={"number": "sip:desk@127.0.0.1", "take_over_numbers": ["+1 312 555 0177"]},
            allow_hosts=["127.0.0.1"],  # the business's own endpoint, here on loopback
        )
        endpoint.answer = lambda body: {"available": True, "target": "+19005550100"}
        h = Harness(tenant, smtp_port, sms_url)
        refused = await h.turn("person", "can I talk to someone please")
        assert endpoint.requests and h.tools[-1].ok  # the business's tool answered, with a number of its own
        assert refused.after is None and "take a message" in refused.lines[0]
        assert h.refused == ["+19005550100"]
        endpoint.answer = lambda body: {"available": True, "target": "+1 (312) 555-0177"}
        allowed = Harness(tenant, smtp_port, sms_url)
        handover = await allowed.turn("person", "can I talk to someone please")
        assert isinstance(handover.after, TransferRequested) and handover.after.target == "+1 (312) 555-0177"
        assert allowed.refused == []


async def test_a_lead_is_captured_with_its_urgency(services: tuple[Inbox, int, Recorded, str]) -> None:
    inbox, smtp_port, _, sms_url = services
    h = Harness(_tenant(notifications={"owner_email": "vet@harbor.example"}), smtp_port, sms_url)
    asked = await h.turn(
        "lead", "how much would it cost to neuter two rabbits, we're thinking about it", urgency="cold"
    )
    assert asked.lines == ["Can I have your name, please?"]
    await h.turn("other", "Tomasz Nowak")
    readback = await h.turn("yes", "yes")
    assert "Tomasz Nowak" in readback.lines[0] and "neuter two rabbits" in readback.lines[0]
    done = await h.turn("yes", "yes")
    assert "in the next few days" in done.lines[0]
    [(reason, urgency)] = h.store.rows("SELECT reason, urgency FROM leads")
    assert "rabbits" in reason and urgency == "cold"
    await h.notifier.drain()
    assert "cold lead" in str(inbox.messages[0]["Subject"])


async def test_goodbye_and_wrong_numbers(services: tuple[Inbox, int, Recorded, str]) -> None:
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url)
    wrong = await h.turn("wrong_number", "is this Luigi's pizza?")
    assert "Harbor Street Vets" in wrong.lines[0]
    bye = await h.turn("goodbye", "ok thanks bye")
    assert isinstance(bye.after, HangupRequested) and bye.lines == ["Thanks for calling Harbor Street Vets. Goodbye!"]


async def test_a_failing_tenant_tool_gets_a_graceful_line(services: tuple[Inbox, int, Recorded, str]) -> None:
    _, smtp_port, _, sms_url = services
    with recording_server() as (endpoint, url):
        endpoint.delay_s = 3.0
        tool = {
            "name": "order_status",
            "description": "Where an order for pet food is",
            "url": url + "/status",
            "secret": "s3cret",
            "timeout_seconds": 0.5,
            "parameters": {
                "type": "object",
                "properties": {"order_number": {"type": "string"}},
                "required": ["order_number"],
            },
        }
        h = Harness(_tenant(tools=[tool], allow_hosts=["127.0.0.1"]), smtp_port, sms_url)
        asked = await h.turn("order_status", "where's my order?")
        assert asked.lines == ["What's the order_number?"] or "order" in asked.lines[0]
        failed = await h.turn("order_status", "it's A 1 2 3", order_number="A123")
        assert failed.lines == ["Sorry, I can't check that right now. Would you like me to take a message instead?"]
        [record] = h.tools
        assert not record.ok and record.error == "order_status: the service could not be reached"
        endpoint.delay_s = 0.0
        endpoint.answer = lambda body: {"status": "shipped", "eta": "Thursday"}
        h2 = Harness(_tenant(tools=[tool], allow_hosts=["127.0.0.1"]), smtp_port, sms_url)
        answered = await h2.turn("order_status", "where's order A123?", order_number="A123")
        assert answered.answer_from and "shipped" in answered.answer_from[0].text
        request = endpoint.requests[-1]
        from core.tools.http_tool import signature

        expected = signature("s3cret", request["headers"]["X-Appliance-Timestamp"], request["raw"])
        assert request["headers"]["X-Appliance-Signature"] == expected


async def test_twenty_simultaneous_bookings_for_one_slot_make_exactly_one() -> None:
    store = Store.memory()
    tenant = _tenant(notifications={"confirm_bookings_by_sms": False})
    context = ToolContext(
        tenant=tenant,
        call_id=None,
        caller_number=None,
        now=lambda: NOW,
        calendar=BuiltinCalendar(store, tenant.id, ZONE),
        notifier=Notifier(store, NotificationSettings()),
        store=store,
        knowledge=None,
    )
    box = ToolBox(context, tools_for(tenant), 5.0)
    start = datetime(2026, 3, 12, 15, 0, tzinfo=ZONE).isoformat()
    args = [
        {"service": "Vaccination visit", "start": start, "name": f"Caller {i}", "phone": f"+1312555{i:04d}"}
        for i in range(20)
    ]
    results = await asyncio.gather(*(box.run("create_booking", a) for a in args))
    assert sum(1 for r in results if r.ok and r.result["booked"]) == 1
    assert all(r.ok for r in results)
    assert store.scalar("SELECT count(*) FROM bookings WHERE status = 'booked'") == 1
    assert max(r.latency_ms for r in results) < 5000
    assert (datetime.fromisoformat(start).astimezone(UTC) - datetime(2026, 3, 12, 20, 0, tzinfo=UTC)) == timedelta(0)


def test_a_phrase_that_cancels_moves_or_asks_for_a_call_back_overrules_the_small_models_guess() -> None:
    flow = Harness(_tenant(), 0, "http://127.0.0.1:9/").flow
    assert flow.refine("booking", "Hi, I need to cancel the booking I made for Friday") == "cancel"
    assert flow.refine("booking", "could we change our appointment to next week") == "reschedule"
    assert flow.refine("booking", "can I talk to somebody about my booking") == "person"
    # A booking that mentions a call back stays a booking; a question with the phrase becomes the task.
    assert flow.refine("booking", "book me in Tuesday and call me back to confirm") == "booking"
    assert flow.refine("question", "could you call me back later") == "message"
    assert flow.refine("person", "could you get Dr Patel to ring me back this afternoon") == "message"
    assert flow.refine("person", "put me through to someone please") == "person"
    assert flow.refine("lead", "cancel my appointment and give me a quote") == "lead"


async def test_a_service_is_taken_from_what_the_caller_means(
    services: tuple[Inbox, int, Recorded, str], runtime: Runtime
) -> None:
    """The caller's words share none with the service's name: matched by meaning, not asked for."""
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url, vectors=FactVectors(runtime.models.embedder))
    turn = await h.turn("booking", "my dog needs his yearly shots, can I bring him in tomorrow at 2?")
    assert h.flow.state.details.service is not None and h.flow.state.details.service.name == "Vaccination visit"
    assert "Which service" not in " ".join(turn.lines)


async def test_the_service_is_never_asked_for_a_third_time(
    services: tuple[Inbox, int, Recorded, str], runtime: Runtime
) -> None:
    """Words that match no service well: asked, asked again, then the closest is taken for the read-back (where
    the caller can still say no) rather than a third "which service?"."""
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url, vectors=FactVectors(runtime.models.embedder))
    first = await h.turn("booking", "can I book something for tomorrow at 2")
    assert "Which service" in first.lines[0]
    again = await h.turn("booking", "it's for my cat")
    assert "which of these" in again.lines[0]
    third = await h.turn("booking", "she's got bad breath and yellow teeth")
    assert h.flow.state.details.service is not None and h.flow.state.details.service.name == "Dental cleaning"
    assert not any("which" in line.lower() for line in third.lines)
    assert h.flow.state.asked.get("service") == 2


async def test_a_name_or_number_given_out_of_turn_is_a_detail_not_a_request_for_a_person(
    services: tuple[Inbox, int, Recorded, str],
) -> None:
    # Found by bench/aftercall.py: offered other times, the caller gave their name; the model read a bare name as
    # "person" and the call was put through to the desk.
    _, smtp_port, _, sms_url = services
    h = Harness(_tenant(), smtp_port, sms_url)
    other = Harness(_tenant(), smtp_port, sms_url, store=h.store)
    await other.turn(
        "booking", "dental cleaning on Thursday at 10am", service="dental cleaning", when="Thursday at 10am"
    )
    await other.turn("other", "Lee Chan")
    await other.turn("yes", "yes")
    await other.turn("yes", "yes")
    offered = await h.turn("booking", "dental cleaning on Thursday at 10am", service="dental cleaning",
                           when="Thursday at 10am")  # fmt: skip
    assert "nearest free times" in offered.lines[0]
    for intent, said in (("person", "Sam Okafor"), ("wrong_number", "0 7 9 1 1 2 3 4 5 6 7")):
        taken = await h.turn(intent, said, name="Sam Okafor") if intent == "person" else await h.turn(intent, said)
        assert taken.after is None and taken.intent == "booking", (said, taken)
    assert h.flow.state.details.name == "Sam Okafor"
    # Asked for in words, a person is still a person, whatever is being collected.
    asked = await h.turn("person", "can I speak to a real person please")
    assert isinstance(asked.after, TransferRequested)
