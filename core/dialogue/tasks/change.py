"""Cancelling or moving a booking: find it under the number the call comes from (its caller ID), or else by its
reference and the name on it; say what was found, act after a yes. A number the caller says finds nothing: anyone
can say anyone's number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import UNSET

from core.dialogue import lines
from core.dialogue.slots import booking_reference
from core.dialogue.tasks.base import Desk, Details, FlowTurn, Task, first_missing
from core.dialogue.tasks.booking import take_start
from core.tools.base import RunTool, call
from core.tools.changes import Action, CancelOrReschedule, ChangeRequest, FoundBooking

_REFERENCE_TRIES = 2  # a reference misheard once is asked for again; twice, and the caller is offered a message


def _request(details: Details, action: Action, **more: Any) -> ChangeRequest:
    """The tool's arguments: the reference and name when the caller gave them (the caller ID it has itself)."""
    by_reference = details.lookup == "reference"
    return ChangeRequest(
        action=action,
        reference=(details.booking_ref or UNSET) if by_reference else UNSET,
        name=(details.name or UNSET) if by_reference else UNSET,
        **more,
    )


class _Change(Task):
    name: str
    skill = "booking"

    def begin(self, details: Details, caller_number: str | None, slots: dict[str, Any], text: str) -> dict[str, Any]:
        # Most callers call from the number they booked with; without a caller ID there is only the reference.
        details.lookup = "caller_id" if caller_number else "reference"
        return slots

    async def take(self, desk: Desk, slots: dict[str, Any], text: str, run: RunTool) -> str | FlowTurn | None:
        details = desk.state.details
        if details.booking is None and desk.state.asking == "booking_ref":
            reference = booking_reference(text)
            if reference is None:
                return "booking_ref"
            details.booking_ref = reference
        return None

    def missing(self, details: Details) -> str | None:
        if details.booking is not None or details.lookup == "caller_id":
            return None  # found, or about to be looked for under the caller ID
        return first_missing(("booking_ref", details.booking_ref), ("name", details.name))

    def question(self, missing: str, again: bool) -> str | None:
        return lines.ASK["booking_name"] if missing == "name" and not again else None

    async def ready(self, desk: Desk, intent: str, run: RunTool) -> FlowTurn:
        details = desk.state.details
        if details.booking is None:
            result = await call(run, CancelOrReschedule(), _request(details, "find"))
            if result is None:
                desk.drop()
                return FlowTurn(self.name, [lines.UNAVAILABLE])
            if not result.bookings:
                return self.not_found(desk)
            details.booking = result.bookings[0]
            turn = self.found(desk, details.booking)
            if turn is not None:
                return turn
        desk.state.stage = "confirm"
        return FlowTurn(self.name, [self.confirm(desk, details.booking)])

    def not_found(self, desk: Desk) -> FlowTurn:
        """Nothing under the caller ID: ask for the reference and name. Nothing with the reference and name: ask
        once more, then say plainly that it cannot be changed by phone."""
        state, details = desk.state, desk.state.details
        ask = lines.ASK["booking_ref"]
        if details.lookup == "caller_id":
            details.lookup, state.asking = "reference", "booking_ref"
            return FlowTurn(self.name, [lines.NOT_UNDER_CALLER_ID, ask], expect="digits")
        details.ref_tries += 1
        if details.ref_tries >= _REFERENCE_TRIES:
            desk.drop()
            return FlowTurn(self.name, [lines.NO_BOOKING])
        said = lines.NO_REFERENCE_MATCH.format(
            reference=lines.spoken_reference(details.booking_ref or ""), name=details.name
        )
        details.booking_ref, details.name, state.asking = None, None, "booking_ref"
        return FlowTurn(self.name, [said, lines.CHECK_REFERENCE], expect="digits")

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
        result = await call(run, CancelOrReschedule(), _request(details, "cancel", booking_id=booking.booking_id))
        desk.drop()
        if result is None or not result.done:
            return FlowTurn(self.name, [lines.CANT_DO])
        old = lines.spoken_when(datetime.fromisoformat(booking.start), desk.today())
        return FlowTurn(self.name, [lines.CANCELLED.format(when=old), lines.ANYTHING_ELSE])


class Reschedule(_Change):
    name = "reschedule"
    dropped = "changed your booking"

    async def take(self, desk: Desk, slots: dict[str, Any], text: str, run: RunTool) -> str | FlowTurn | None:
        bad = await super().take(desk, slots, text, run)
        details = desk.state.details
        if bad is None and details.booking is not None and details.start is None:  # its service says how long
            return await take_start(desk, slots, text, run, can_check=True)
        return bad

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
        request = _request(details, "reschedule", booking_id=booking.booking_id, new_start=details.start.isoformat())
        result = await call(run, CancelOrReschedule(), request)
        desk.drop()
        if result is None or not result.done or not result.start:
            return FlowTurn(self.name, [lines.CANT_DO])
        new = lines.spoken_when(datetime.fromisoformat(result.start), desk.today())
        said = [lines.MOVED.format(service=booking.service.lower(), when=new)]
        if result.reference and result.reference != booking.reference:
            said.append(lines.NEW_REFERENCE.format(reference=lines.spoken_reference(result.reference)))
        if result.texted:
            said.append(lines.TEXT_COMING)
        return FlowTurn(self.name, [*said, lines.ANYTHING_ELSE])
