"""Leads and messages the receptionist takes for the team: one row each, written during the call."""

from __future__ import annotations

from core.store.database import Store, new_id, utcnow


class LeadRepository:
    """What callers left for the team, for one business."""

    def __init__(self, store: Store, tenant_id: str) -> None:
        self._store = store
        self._tenant = tenant_id

    def add_lead(
        self,
        *,
        call_id: str | None,
        name: str | None,
        phone: str | None,
        reason: str,
        urgency: str,
        status: str = "new",
    ) -> str:
        """A new lead's id; an emergency is a lead whose status says so."""
        lead_id = new_id("lead")
        self._store.execute(
            "INSERT INTO leads (id, tenant_id, call_id, name, phone, reason, urgency, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [lead_id, self._tenant, call_id, name, phone, reason, urgency, status, utcnow()],
        )
        return lead_id

    def add_message(self, *, call_id: str | None, name: str | None, phone: str | None, body: str) -> str:
        message_id = new_id("msg")
        self._store.execute(
            "INSERT INTO messages (id, tenant_id, call_id, name, phone, body, status, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'new', ?)",
            [message_id, self._tenant, call_id, name, phone, body, utcnow()],
        )
        return message_id
