"""Cancelling or moving a booking: find it under the caller's number, say what was found, act after a yes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.dialogue import lines
from core.dialogue.tasks.base import Desk, Details, FlowTurn, Task, first_missing
from core.dialogue.tasks.booking import take_start
from core.tools.base import RunTool, call
from core.tools.booking import CancelOrReschedule, ChangeRequest, FoundBooking


class _Change(Task):
    name: str
    skill = "booking"

    def begin(self, details: Details, caller_number: str | None, slots: dict[str, Any], text: str) -> dict[str, Any]:
        details.booking_phone = caller_number  # most callers call from the number they booked with
        return slots

    def missing(self, details: Details) -> str | None:
        return first_missing(("booking_phone", details.booking_phone)) if details.booking is None else None

    async def ready(self, desk: Desk, intent: str, run: RunTool) -> FlowTurn:
        details = desk.state.details
        if details.booking is None:
            result = await call(
                run, CancelOrReschedule(), ChangeRequest(phone=details.booking_phone or "", action="find")
            )
            if result is None:
                desk.drop()
                return FlowTurn(self.name, [lines.UNAVAILABLE])
            if not result.bookings:
                desk.drop()
                return FlowTurn(self.name, [lines.NO_BOOKING])
            details.booking = result.bookings[0]
            turn = self.found(desk, details.booking)
            if turn is not None:
                return turn
        desk.state.stage = "confirm"
        return FlowTurn(self.name, [self.confirm(desk, details.booking)])

    def found(self, desk: Desk, booking: FoundBooking) -> FlowTurn | None:
        """What to say when the booking is found, before anything else is needed; None to read back at once."""
        return None

    def confirm(self, desk: Desk, booking: FoundBooking) -> str:
        raise NotImplementedError


class Cancel(_Change):
    name = "cancel"
    dropped = "cancelled anything"

    def confirm(self, desk: Desk, booking: FoundBooking) -> str:
        when = lines.spoken_when(datetime.fromisoformat(booking.start), desk.today())
        return lines.FOUND_BOOKING.format(service=booking.service.lower(), when=when)

    async def act(self, desk: Desk, run: RunTool) -> FlowTurn:
        details = desk.state.details
        assert details.booking is not None  # confirmed only once found
        booking = details.booking
        result = await call(
            run,
            CancelOrReschedule(),
            ChangeRequest(phone=details.booking_phone or "", action="cancel", booking_id=booking.booking_id),
        )
        desk.drop()
        if result is None or not result.done:
            return FlowTurn(self.name, [lines.CANT_DO])
        old = lines.spoken_when(datetime.fromisoformat(booking.start), desk.today())
        return FlowTurn(self.name, [lines.CANCELLED.format(when=old), lines.ANYTHING_ELSE])


class Reschedule(_Change):
    name = "reschedule"
    dropped = "changed your booking"

    async def take(self, desk: Desk, slots: dict[str, Any], text: str, run: RunTool) -> str | FlowTurn | None:
        if desk.state.details.start is None:
            return await take_start(desk, slots, text, run, can_check=True)
        return None

    def missing(self, details: Details) -> str | None:
        return super().missing(details) if details.booking is None else first_missing(("start", details.start))

    def found(self, desk: Desk, booking: FoundBooking) -> FlowTurn | None:
        desk.state.asking = "start"
        when = lines.spoken_when(datetime.fromisoformat(booking.start), desk.today())
        return FlowTurn(self.name, [lines.FOUND_FOR_MOVE.format(service=booking.service.lower(), when=when)])

    def confirm(self, desk: Desk, booking: FoundBooking) -> str:
        start = desk.state.details.start
        assert start is not None  # asked for before the read-back
        return lines.CONFIRM_MOVE.format(service=booking.service.lower(), when=lines.spoken_when(start, desk.today()))

    async def act(self, desk: Desk, run: RunTool) -> FlowTurn:
        details = desk.state.details
        assert details.booking is not None and details.start is not None
        booking = details.booking
        result = await call(
            run,
            CancelOrReschedule(),
            ChangeRequest(
                phone=details.booking_phone or "",
                action="reschedule",
                booking_id=booking.booking_id,
                new_start=details.start.isoformat(),
            ),
        )
        desk.drop()
        if result is None or not result.done or not result.start:
            return FlowTurn(self.name, [lines.CANT_DO])
        new = lines.spoken_when(datetime.fromisoformat(result.start), desk.today())
        return FlowTurn(self.name, [lines.MOVED.format(service=booking.service.lower(), when=new), lines.ANYTHING_ELSE])
