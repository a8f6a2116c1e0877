"""Reading out, cancelling or moving a booking, for the caller who made it and nobody else.

A caller is taken to be the booking's when the call's caller ID is the booking's phone number, or when they give
the booking's reference and the name on it. A number the caller merely says proves nothing (anyone can say
anyone's number), so the arguments have no phone: the caller ID comes from the call itself.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from core.calendars.base import Booked as CalendarBooking
from core.calendars.caldav_calendar import CalendarUnavailable
from core.tenants.document import normalise_number
from core.tenants.numbers import calling_code, forms
from core.tools.base import Builtin, ToolContext, ToolFailed
from core.tools.booking import BookingRequest, book

log = logging.getLogger(__name__)

_CALLER_ID = re.compile(r"^\+?[0-9]{6,15}$")

Action = Literal["find", "cancel", "reschedule"]


class ChangeRequest(msgspec.Struct, kw_only=True):
    action: Annotated[Action, Meta(extra_json_schema={"type": "string"})]
    reference: (
        Annotated[str, Meta(description="the booking's reference as the caller says it, when the call does not come "
                                        "from the booking's number")]
        | UnsetType
    ) = UNSET  # fmt: skip
    name: Annotated[str, Meta(description="the name on the booking, given with its reference")] | UnsetType = UNSET
    booking_id: str | UnsetType = UNSET
    new_start: str | UnsetType = UNSET


class FoundBooking(msgspec.Struct, kw_only=True):
    booking_id: str
    service: str
    start: str
    reference: str | None = None  # none on bookings made before references


class Changed(msgspec.Struct, kw_only=True):
    """A search lists the caller's bookings (none unless the caller ID or the reference and name match); a cancel
    says which went; a move carries the new booking's fields (``Booked``). Fields in the order the log has always
    shown them, the newer ones last."""

    done: bool | UnsetType = UNSET
    cancelled: str | UnsetType = UNSET
    booked: bool | UnsetType = UNSET
    reason: str | UnsetType = UNSET
    alternatives: list[str] | UnsetType = UNSET
    bookings: list[FoundBooking] | UnsetType = UNSET
    booking_id: str | UnsetType = UNSET
    start: str | UnsetType = UNSET
    end: str | UnsetType = UNSET
    reference: str | UnsetType = UNSET
    texted: bool | UnsetType = UNSET


def same_person(said: str, on_booking: str) -> bool:
    """Whether the name a caller gives is the one on the booking: its last word (the surname, or the only name)
    among the words they said, whatever the case and accents ("patel" and "Dev Patel" are Dev Patel's)."""
    booking_words = _words(on_booking)
    return bool(booking_words) and booking_words[-1] in set(_words(said))


def _words(name: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z]+(?:'[a-z]+)?", folded)


async def callers_bookings(ctx: ToolContext, args: ChangeRequest) -> list[CalendarBooking]:
    """The upcoming bookings this caller may see and change: those under the call's caller ID, and the one whose
    reference they gave with the name on it."""
    now = ctx.now()
    found: dict[str, CalendarBooking] = {}
    caller = normalise_number(ctx.caller_number or "")
    try:
        if _CALLER_ID.match(caller):
            for booking in await ctx.calendar.find(forms(caller, calling_code(ctx.tenant)), now):
                found[booking.id] = booking
        reference = re.sub(r"\D", "", args.reference) if args.reference else ""
        if reference:
            with_reference = await ctx.calendar.find_reference(reference, now)
            named = [b for b in with_reference if same_person(args.name or "", b.name)]
            if not named:
                log.info(
                    "tenant %s, call %s: no upcoming booking with reference %s under the name given",
                    ctx.tenant.id, ctx.call_id, reference,
                )  # fmt: skip
            found.update((b.id, b) for b in named)
    except CalendarUnavailable as exc:
        raise ToolFailed(str(exc)) from exc
    return sorted(found.values(), key=lambda b: b.start)


class CancelOrReschedule(Builtin[ChangeRequest, Changed]):
    name = "cancel_or_reschedule"
    description = (
        "Find, cancel or move the caller's booking: the one under the number they are calling from, or the one whose "
        "reference and name they give."
    )
    mutating = True
    arguments = ChangeRequest
    result = Changed

    async def handle(self, ctx: ToolContext, args: ChangeRequest) -> Changed:
        bookings = await callers_bookings(ctx, args)
        listed = [
            FoundBooking(booking_id=b.id, service=b.service, start=b.start.isoformat(), reference=b.reference)
            for b in bookings
        ]
        if args.action == "find":
            return Changed(bookings=listed)
        chosen = [b for b in bookings if b.id == args.booking_id] if args.booking_id else bookings[:1]
        if not chosen:
            return Changed(done=False, reason="no booking found", bookings=listed)
        booking = chosen[0]
        if args.action == "cancel":
            try:
                await ctx.calendar.cancel(booking.id)
            except CalendarUnavailable as exc:
                raise ToolFailed(str(exc)) from exc
            return Changed(done=True, cancelled=booking.id, start=booking.start.isoformat())
        request = BookingRequest(
            service=booking.service, start=args.new_start or "", name=booking.name, phone=booking.phone
        )
        moved = await book(ctx, request, reference=booking.reference)
        if not moved.booked:
            return Changed(done=False, booked=False, reason=moved.reason, alternatives=moved.alternatives)
        try:
            await ctx.calendar.cancel(booking.id)
        except CalendarUnavailable as exc:
            raise ToolFailed(str(exc)) from exc
        return Changed(
            done=True,
            cancelled=booking.id,
            booked=True,
            booking_id=moved.booking_id,
            start=moved.start,
            end=moved.end,
            reference=moved.reference,
            texted=moved.texted,
        )
