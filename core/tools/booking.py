"""Appointments: find a free slot, book it atomically, and confirm it (cancelling and moving: ``changes``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from msgspec import UNSET, Meta, UnsetType

from core.calendars.base import NewBooking, Slot, SlotTaken, free_slots
from core.calendars.caldav_calendar import CalendarUnavailable
from core.notify.to_callers import text_caller
from core.tenants.document import Service, TenantDocument
from core.tools.base import Builtin, ToolContext, ToolFailed

_SHOWN = 3  # alternatives offered at once: more is hard to remember on the phone


def _service(tenant: TenantDocument, name: str) -> Service:
    for service in tenant.services:
        if service.name.lower() == name.lower():
            return service
    if not tenant.services:
        return Service(name=name or "Appointment")
    raise ToolFailed(f"unknown service '{name}'")


def _iso(slot: Slot) -> str:
    return slot.start.isoformat()


async def _day_slots(ctx: ToolContext, day: date, minutes: int) -> list[Slot]:
    zone = ZoneInfo(ctx.tenant.timezone)
    start = datetime.combine(day, time(0), zone)
    try:
        busy = await ctx.calendar.busy(start, start + timedelta(days=1))
    except CalendarUnavailable as exc:
        raise ToolFailed(str(exc)) from exc
    earliest = ctx.now() + timedelta(minutes=ctx.tenant.booking.lead_minutes)
    return free_slots(ctx.tenant, day, minutes, busy, earliest)


async def nearest_free(ctx: ToolContext, around: datetime, minutes: int, limit: int = _SHOWN) -> list[Slot]:
    """Free slots closest to ``around``, nearest first: that day first, then the following days."""
    horizon = ctx.now().date() + timedelta(days=ctx.tenant.booking.horizon_days)
    found: list[Slot] = []
    day = around.date()
    while day <= horizon and len(found) < limit:
        slots = await _day_slots(ctx, day, minutes)
        if day == around.date():
            slots.sort(key=lambda s: abs((s.start - around).total_seconds()))
        found += slots[: limit - len(found)]
        day += timedelta(days=1)
    return found


# Times travel as ISO strings, as in the tools' JSON: what the call log keeps stays what it always was.


class AvailabilityQuery(msgspec.Struct, kw_only=True):
    service: str
    day: Annotated[str, Meta(description="ISO date")]
    from_: Annotated[str, Meta(description="HH:MM local; equal to 'to' for an exact time")] | UnsetType = msgspec.field(
        name="from", default=UNSET
    )
    to: str | UnsetType = UNSET


class Availability(msgspec.Struct, kw_only=True):
    free: bool
    requested: str | None  # the exact time asked for, when one was
    slots: list[str]  # free start times: the one asked for, or the nearest others


class BookingRequest(msgspec.Struct, kw_only=True):
    service: str
    start: Annotated[str, Meta(description="ISO date-time with offset")]
    name: str
    phone: str


class Booked(msgspec.Struct, kw_only=True):
    """Booked (with its id, times, the reference the caller is told, and whether a text is on its way to them), or
    not (with why, and the nearest free times)."""

    booked: bool
    reason: str | UnsetType = UNSET
    alternatives: list[str] | UnsetType = UNSET
    booking_id: str | UnsetType = UNSET
    start: str | UnsetType = UNSET
    end: str | UnsetType = UNSET
    reference: str | UnsetType = UNSET
    texted: bool | UnsetType = UNSET


class CheckAvailability(Builtin[AvailabilityQuery, Availability]):
    name = "check_availability"
    description = "Whether a time is free for a service, with the nearest free alternatives."
    mutating = False
    arguments = AvailabilityQuery
    result = Availability

    async def handle(self, ctx: ToolContext, args: AvailabilityQuery) -> Availability:
        service = _service(ctx.tenant, args.service)
        try:
            day = date.fromisoformat(args.day)
            start = time.fromisoformat(args.from_) if args.from_ else None
            end = time.fromisoformat(args.to) if args.to else None
        except ValueError as exc:
            raise ToolFailed(f"bad day or time: {exc}") from exc
        zone = ZoneInfo(ctx.tenant.timezone)
        slots = await _day_slots(ctx, day, service.duration_minutes)
        if start is not None and start == end:
            wanted = datetime.combine(day, start, zone)
            if any(s.start == wanted for s in slots):
                return Availability(free=True, requested=wanted.isoformat(), slots=[wanted.isoformat()])
            alternatives = await nearest_free(ctx, wanted, service.duration_minutes)
            return Availability(free=False, requested=wanted.isoformat(), slots=[_iso(s) for s in alternatives])
        if start is not None and end is not None:
            slots = [s for s in slots if start <= s.start.time() and s.start.time() < end]
        if not slots:
            around = datetime.combine(day, start or time(12), zone)
            slots = await nearest_free(ctx, around, service.duration_minutes)
            return Availability(free=False, requested=None, slots=[_iso(s) for s in slots])
        return Availability(free=True, requested=None, slots=[_iso(s) for s in slots[:_SHOWN]])


class CreateBooking(Builtin[BookingRequest, Booked]):
    name = "create_booking"
    description = "Book a service at a start time for a named caller with a phone number."
    mutating = True
    arguments = BookingRequest
    result = Booked

    async def handle(self, ctx: ToolContext, args: BookingRequest) -> Booked:
        return await book(ctx, args)


async def book(ctx: ToolContext, args: BookingRequest, reference: str | None = None) -> Booked:
    """Book, and confirm it to the caller and the owner; a booking that is moved keeps its ``reference``."""
    service = _service(ctx.tenant, args.service)
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError as exc:
        raise ToolFailed(f"bad start: {exc}") from exc
    if start.tzinfo is None:
        raise ToolFailed("start has no UTC offset")
    start = start.astimezone(ZoneInfo(ctx.tenant.timezone))
    if start.time() not in {s.start.time() for s in await _day_slots(ctx, start.date(), service.duration_minutes)}:
        alternatives = await nearest_free(ctx, start, service.duration_minutes)
        return Booked(booked=False, reason="not free", alternatives=[_iso(s) for s in alternatives])
    booking = NewBooking(
        service=service.name,
        start=start,
        end=start + timedelta(minutes=service.duration_minutes),
        name=args.name,
        phone=args.phone,
        call_id=ctx.call_id,
        reference=reference,
    )
    try:
        booked = await ctx.calendar.create(booking, timedelta(minutes=ctx.tenant.booking.buffer_minutes))
    except SlotTaken:
        alternatives = await nearest_free(ctx, start, service.duration_minutes)
        return Booked(booked=False, reason="taken", alternatives=[_iso(s) for s in alternatives])
    except CalendarUnavailable as exc:
        raise ToolFailed(str(exc)) from exc
    texted = _confirm(ctx, booked.id, booked.reference or "", service.name, start, args.name, args.phone)
    return Booked(
        booked=True,
        booking_id=booked.id,
        start=booked.start.isoformat(),
        end=booked.end.isoformat(),
        reference=booked.reference or UNSET,
        texted=texted,
    )


def _confirm(
    ctx: ToolContext, booking_id: str, reference: str, service: str, start: datetime, name: str, phone: str
) -> bool:
    """Text the caller (at their caller ID only: never at the number they gave, which anyone can say) and email
    the owner; whether a text is on its way."""
    tenant = ctx.tenant
    when = start.strftime("%A %d %B at %H:%M")
    unsent = text_caller(
        ctx.notifier, ctx.store, tenant, call_id=ctx.call_id, caller_number=ctx.caller_number,
        kind="booking_confirmation", subject=tenant.name,
        body=f"{service} booked for {when}. Ref {reference}. To change it, call {tenant.phone or 'us'}.",
    )  # fmt: skip
    if tenant.notifications.owner_email:
        ctx.notifier.send(
            tenant_id=tenant.id, call_id=ctx.call_id, kind="booking", channel="email",
            target=tenant.notifications.owner_email, subject=f"New booking: {service}, {when}",
            body=f"{name} ({phone}) booked {service} for {when} by phone. Ref {reference} ({booking_id}).",
        )  # fmt: skip
    return unsent is None
