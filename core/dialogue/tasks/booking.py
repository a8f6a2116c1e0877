"""Booking an appointment: a service, a free time, a name and a number; booked only after a yes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.dialogue import lines
from core.dialogue.slots import match_service
from core.dialogue.tasks.base import Desk, Details, FlowTurn, ReadBack, first_missing
from core.dialogue.when import parse_when
from core.tenants.document import Service
from core.tools.base import RunTool, call
from core.tools.booking import BookingRequest, CreateBooking


async def take_start(
    desk: Desk, slots: dict[str, Any], text: str, run: RunTool, can_check: bool
) -> str | FlowTurn | None:
    """The time the caller asked for, checked against the calendar once ``can_check`` (the service is known):
    kept if free, else the nearest free times are offered. Returns "start" when it was asked for and unusable."""
    state = desk.state
    said = slots.get("when") or (text if state.asking == "start" else "")
    when = parse_when(said, desk.now(), desk.tenant.open_at) if said else None
    if when is not None and can_check:
        return await desk.availability(when, run)
    if said and state.asking == "start":
        return "start"
    return None


# How close in meaning the caller's words must be to a service, and how much closer than the next one, to take
# it ("my kitchen tap has been dripping" for "Tap and toilet repairs"): set on the tune businesses (README).
_CLOSE, _AHEAD = 0.35, 0.08


async def _by_meaning(desk: Desk, said: str) -> Service | None:
    """The service the caller's words mean; after the caller was asked twice, the closest one (the read-back
    lets them say no), rather than asking a third time."""
    ranked = await desk.services_like(said)
    if not ranked:
        return None
    (best, score), runner_up = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
    asked_twice = desk.state.asking == "service" and desk.state.asked.get("service", 0) >= 2
    return best if asked_twice or (score >= _CLOSE and score - runner_up >= _AHEAD) else None


class Booking(ReadBack):
    name = "booking"
    skill = "booking"
    dropped = "booked anything"

    async def take(self, desk: Desk, slots: dict[str, Any], text: str, run: RunTool) -> str | FlowTurn | None:
        state, details, services = desk.state, desk.state.details, desk.tenant.services
        bad: str | None = None
        if details.service is None:
            said = slots.get("service") or text
            if len(services) == 1:
                details.service = services[0]
            elif found := match_service(said, services) or await _by_meaning(desk, said):
                details.service = found
            elif state.asking == "service":
                bad = "service"
        if state.asking == "start" and state.offered and details.start is None:
            details.start = desk.pick_offered(text)
        if details.start is None:
            return await take_start(desk, slots, text, run, can_check=details.service is not None) or bad
        return bad

    def missing(self, details: Details) -> str | None:
        return first_missing(
            ("service", details.service), ("start", details.start), ("name", details.name), ("phone", details.phone)
        )

    def readback(self, desk: Desk) -> str:
        details, today = desk.state.details, desk.today()
        assert details.service is not None and details.start is not None  # read back only once given
        return lines.CONFIRM_BOOKING.format(
            service=details.service.name.lower(),
            when=("on " if details.start.date() != today else "") + lines.spoken_when(details.start, today),
            name=details.name,
            phone=lines.spoken_number(details.phone or ""),
        )

    async def act(self, desk: Desk, run: RunTool) -> FlowTurn:
        state, details = desk.state, desk.state.details
        assert details.service is not None and details.start is not None
        result = await call(
            run,
            CreateBooking(),
            BookingRequest(
                service=details.service.name,
                start=details.start.isoformat(),
                name=details.name or "",
                phone=details.phone or "",
            ),
        )
        if result is None:
            desk.drop()
            return FlowTurn("booking", [lines.CANT_DO])
        if not result.booked or not result.start:
            details.start = None
            offered = sorted(datetime.fromisoformat(s) for s in (result.alternatives or [])[:2])
            state.stage, state.asking, state.offered = "collect", "start", offered
            if not offered:
                return FlowTurn("booking", [lines.NO_SLOTS])
            return FlowTurn("booking", [desk.offer(offered, lines.TAKEN)])
        desk.drop()
        when = lines.spoken_when(datetime.fromisoformat(result.start), desk.today())
        reference = lines.spoken_reference(result.reference or "")
        text = lines.TEXT_COMING if result.texted else lines.NOTE_IT
        return FlowTurn("booking", [lines.BOOKED.format(when=when, reference=reference), text, lines.ANYTHING_ELSE])
