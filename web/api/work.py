"""Bookings and leads over the API, and the audit log."""

from __future__ import annotations

import asyncio

from litestar import Controller, get, post

from web.api.paths import TENANT
from web.auth.policy import Permission
from web.queries.work import AuditEntry, Booking, Lead
from web.scope import TenantScope


class BookingController(Controller):
    path = f"{TENANT}/bookings"
    tags = ["bookings"]

    @get("/", permission=Permission.BOOKINGS_READ, sync_to_thread=True)
    def list_bookings(
        self, view: TenantScope, status: str | None = None, upcoming: bool = False, limit: int = 100
    ) -> list[Booking]:
        return view.bookings.list(status=status, upcoming=upcoming, limit=limit)

    @post("/{booking_id:str}/cancel", permission=Permission.BOOKINGS_WRITE, status_code=200)
    async def cancel(self, view: TenantScope, booking_id: str) -> Booking:
        """Cancel in the business's calendar (the built-in one, or its CalDAV calendar too)."""
        booking = await asyncio.to_thread(view.bookings.cancellable, booking_id)
        await view.calendar.cancel(booking_id)
        await asyncio.to_thread(
            view.audit, "booking.cancel", booking_id, {"service": booking.service, "starts_at": booking.starts_at}
        )
        return await asyncio.to_thread(view.bookings.get, booking_id)


class LeadController(Controller):
    path = f"{TENANT}/leads"
    tags = ["leads"]

    @get("/", permission=Permission.LEADS_READ, sync_to_thread=True)
    def list_leads(self, view: TenantScope, status: str | None = None, limit: int = 100) -> list[Lead]:
        return view.leads.list(status=status, limit=limit)

    @post("/{lead_id:str}/contacted", permission=Permission.LEADS_WRITE, sync_to_thread=True, status_code=200)
    def contacted(self, view: TenantScope, lead_id: str) -> Lead:
        lead = view.leads.mark_contacted(lead_id)
        view.audit("lead.contacted", lead_id)
        return lead


class AuditController(Controller):
    path = f"{TENANT}/audit"
    tags = ["audit"]

    @get("/", permission=Permission.AUDIT_READ, sync_to_thread=True)
    def list_audit(self, view: TenantScope, before: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Every change made to the business, newest first; ``before`` (an entry id) pages back."""
        return view.audit_log(before, limit)
