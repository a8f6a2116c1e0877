"""Businesses, staff and stored calls for web tests, written through the same repositories the appliance uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from appliance.runtime import Runtime
from core.audio import write_wav
from core.records import CallAnalysis, CallRecord, Latency, ToolCallRecord, TurnRecord
from core.store.database import new_id, utcnow
from core.tenants.document import parse_tenant
from web.auth.policy import Role
from web.store.accounts import Accounts

PASSWORD = "staff password 123"

DENTAL = {
    "id": "harbour-dental",
    "name": "Harbour Dental",
    "timezone": "America/Halifax",
    "description": "A family dental practice on the waterfront.",
    "numbers": ["+19025550100"],
    "hours": {
        "mon": "08:00-17:00",
        "tue": "08:00-17:00",
        "wed": "08:00-17:00",
        "thu": "08:00-19:00",
        "fri": "08:00-15:00",
    },
    "services": [{"name": "Check-up", "duration_minutes": 30, "price": "$95"}],
    "transfer": {"number": "+19025550101"},
}
BAKERY = {
    "id": "kowloon-bakery",
    "name": "Kowloon Bakery",
    "timezone": "Asia/Hong_Kong",
    "description": "Custom cakes and pastries.",
    "numbers": ["+85221234567"],
    "hours": {"mon": "07:00-19:00", "sat": "08:00-14:00"},
}


@dataclass
class Seeded:
    owner: str = "owner@harbour.example"
    supervisor: str = "super@harbour.example"
    agent: str = "agent@harbour.example"
    other_owner: str = "owner@kowloon.example"
    calls: dict[str, list[str]] = field(default_factory=dict)  # tenant -> call ids, newest first
    recorded_call: str = ""
    booking: str = ""
    lead: str = ""


def tone(seconds: float, rate: int, hz: float) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * 8000).astype(np.int16)


def stored_call(
    runtime: Runtime,
    tenant: str,
    *,
    started: datetime,
    caller: str,
    exchanges: list[tuple[str, str, str]],
    outcome: str,
    recording: bool = False,
    meta: dict[str, object] | None = None,
    analysis: CallAnalysis | None = None,
) -> str:
    """A finished call with a greeting and ``exchanges`` of (caller words, reply, intent)."""
    call = CallRecord(
        id=new_id("call"),
        tenant_id=tenant,
        assistant_id="default",
        channel="sip",
        caller=caller,
        callee=None,
        started_at=started,
        meta=dict(meta or {}),
    )
    runtime.calls.start(call)
    turns = [
        TurnRecord(
            idx=0, started_at=started, source="greeting", caller=None, reply="Thanks for calling.", intent="greeting"
        )
    ]
    for i, (said, reply, intent) in enumerate(exchanges, 1):
        tools = []
        if intent == "booking":
            tools = [
                ToolCallRecord(
                    name="create_booking",
                    arguments={"service": "Check-up", "day": "Thursday", "time": "16:30"},
                    result={"booking_id": "bk_1", "starts_at": "Thursday 4:30 pm"},
                    latency_ms=12.5,
                )
            ]
        turns.append(
            TurnRecord(
                idx=i,
                started_at=started + timedelta(seconds=6 * i),
                source="audio",
                caller=said,
                reply=reply,
                intent=intent,
                latency_ms=Latency(
                    endpoint=520, stt=310, llm_first_token=450, tts_first_audio=160, voice_to_voice=1290
                ),
                tool_calls=tools,
            )
        )
    for turn in turns:
        runtime.calls.add_turn(tenant, call.id, turn)
        for tool in turn.tool_calls:  # written as they happen, apart from their turn
            runtime.calls.add_tool_call(tenant, call.id, turn.idx, tool)
    call.ended_at = started + timedelta(seconds=6 * len(turns) + 4)
    call.duration_s = 6.0 * len(turns) + 4
    call.status = "ended"
    call.outcome = outcome
    call.analysis_state = "pending" if analysis is None else "done"
    call.end_reason = "the caller hung up"
    if recording:
        name = f"{tenant}/{call.id}.wav"
        rate = 8000
        write_wav(
            runtime.settings.recordings_path / name, np.concatenate([tone(1.5, rate, 440), tone(1.5, rate, 660)]), rate
        )
        call.meta["recording"] = name
    runtime.calls.finish(call)
    if analysis is not None:
        runtime.calls.save_analysis(call.id, "done", analysis)
    return call.id


def seed(runtime: Runtime) -> Seeded:
    s = Seeded()
    for doc in (DENTAL, BAKERY):
        runtime.tenants.save(parse_tenant(doc), replace=True, actor="test")
    accounts = Accounts(runtime.store)
    staff: tuple[tuple[str, str, Role], ...] = (
        (s.owner, "harbour-dental", "owner"),
        (s.supervisor, "harbour-dental", "supervisor"),
        (s.agent, "harbour-dental", "agent"),
        (s.other_owner, "kowloon-bakery", "owner"),
    )
    for email, tenant, role in staff:
        user = accounts.create(email=email, name=email.split("@")[0].title(), password=PASSWORD, phone="+19025550177")
        accounts.grant(user, tenant, role)
    now = utcnow().replace(microsecond=0)
    s.calls["harbour-dental"] = [
        stored_call(
            runtime,
            "harbour-dental",
            started=now - timedelta(hours=2),
            caller="+19025550123",
            exchanges=[
                (
                    "Hi, I'd like a check-up on Thursday afternoon.",
                    "I can do Thursday at 4:30 pm. Shall I book it?",
                    "booking",
                ),
                ("Yes please, it's Margaret Chen.", "Done: Thursday at 4:30 pm for Margaret Chen.", "booking"),
            ],
            outcome="booking_created",
            recording=True,
            meta={"tags": ["new patient"]},
            analysis=CallAnalysis(
                summary="Margaret Chen booked a check-up for Thursday at 4:30 pm.",
                sentiment="positive",
                sentiment_confidence=0.9,
                topics=["check-up"],
            ),
        ),
        stored_call(
            runtime,
            "harbour-dental",
            started=now - timedelta(days=1, hours=3),
            caller="+19025550999",
            exchanges=[("My tooth is really aching, do you do emergencies?", "Yes. I'll take your details.", "lead")],
            outcome="lead_captured",
        ),
    ]
    s.recorded_call = s.calls["harbour-dental"][0]
    s.calls["kowloon-bakery"] = [
        stored_call(
            runtime,
            "kowloon-bakery",
            started=now - timedelta(hours=5),
            caller="+85290001111",
            exchanges=[("Can I order a mango cake for Saturday?", "Of course, what size?", "question")],
            outcome="question_answered",
            recording=True,
        )
    ]
    s.booking = new_id("booking")
    runtime.store.execute(
        "INSERT INTO bookings (id, tenant_id, call_id, service, starts_at, ends_at, customer_name, customer_phone, "
        "status, notes, created_at) VALUES (?, 'harbour-dental', ?, 'Check-up', ?, ?, 'Margaret Chen', "
        "'+19025550123', 'booked', NULL, ?)",
        [
            s.booking,
            s.recorded_call,
            now + timedelta(days=2),
            now + timedelta(days=2, minutes=30),
            now - timedelta(hours=2),
        ],
    )
    s.lead = new_id("lead")
    runtime.store.execute(
        "INSERT INTO leads (id, tenant_id, call_id, name, phone, reason, urgency, status, created_at) "
        "VALUES (?, 'harbour-dental', ?, 'Sam Ortiz', '+19025550999', 'toothache, wants an "
        "emergency appointment', 'hot', 'new', ?)",
        [s.lead, s.calls["harbour-dental"][1], now - timedelta(days=1, hours=3)],
    )
    return s
