"""A business's settings kept outside its tenant file: webhooks (their signing keys encrypted), and how long
calls and recordings are kept."""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

import msgspec

from core.errors import InputError, NotFoundError
from core.security.secrets import SecretStore
from core.store.database import Store, new_id, utcnow

# What a webhook can be told of: a call once it ended and its summary is written; during a call, what it did.
EVENTS = ("call.ended", "booking.created", "booking.cancelled", "lead.created", "message.taken")


class Webhook(msgspec.Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime


class Retention(msgspec.Struct, kw_only=True):
    """Days to keep; None keeps forever."""

    recordings_days: int | None = None
    calls_days: int | None = None


def check_events(events: list[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise InputError(
            f"events must be one or more of {', '.join(EVENTS)}" + (f" (not {unknown[0]})" if unknown else "")
        )
    return sorted(set(events))


def _webhook_secret(webhook_id: str) -> str:
    return f"webhook:{webhook_id}"


class BusinessSettings:
    def __init__(self, store: Store, secrets_: SecretStore) -> None:
        self._store = store
        self._secrets = secrets_

    # webhooks
    def webhooks(self, tenant_id: str) -> list[Webhook]:
        rows = self._store.dicts(
            "SELECT id, url, events, enabled, created_at FROM webhooks WHERE tenant_id = ? ORDER BY created_at",
            [tenant_id],
        )
        return [msgspec.convert(r, Webhook) for r in rows]

    def add_webhook(self, tenant_id: str, url: str, events: list[str]) -> tuple[Webhook, str]:
        """The webhook and its signing key (shown once; kept encrypted)."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"'{url}' is not an http(s) URL")
        hook = Webhook(
            id=new_id("hook"), url=url.strip(), events=check_events(events), enabled=True, created_at=utcnow()
        )
        key = "whsec_" + secrets.token_urlsafe(32)
        with self._store.transaction():
            self._store.execute(
                "INSERT INTO webhooks VALUES (?, ?, ?, ?, ?, ?)",
                [hook.id, tenant_id, hook.url, hook.events, hook.enabled, hook.created_at],
            )
            self._secrets.put(tenant_id, _webhook_secret(hook.id), key)
        return hook, key

    def subscribed(self, tenant_id: str, event: str) -> list[Webhook]:
        return [h for h in self.webhooks(tenant_id) if h.enabled and event in h.events]

    def webhook_key(self, tenant_id: str, webhook_id: str) -> str | None:
        return self._secrets.get(tenant_id, _webhook_secret(webhook_id))

    def remove_webhook(self, tenant_id: str, webhook_id: str) -> None:
        with self._store.transaction():
            self._delete("webhooks", tenant_id, webhook_id)
            self._secrets.delete(tenant_id, _webhook_secret(webhook_id))

    # retention
    def retention(self, tenant_id: str) -> Retention:
        rows = self._store.dicts("SELECT recordings_days, calls_days FROM retention WHERE tenant_id = ?", [tenant_id])
        return msgspec.convert(rows[0], Retention) if rows else Retention()

    def set_retention(self, tenant_id: str, retention: Retention) -> None:
        for name, days in (("recordings_days", retention.recordings_days), ("calls_days", retention.calls_days)):
            if days is not None and not 1 <= days <= 3650:
                raise InputError(f"{name} must be 1 to 3650 days, or empty to keep forever")
        if (
            retention.recordings_days is not None
            and retention.calls_days is not None
            and retention.recordings_days > retention.calls_days
        ):
            raise InputError("recordings cannot be kept longer than the calls they belong to")
        self._store.execute(
            "INSERT INTO retention VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET "
            "recordings_days = excluded.recordings_days, calls_days = excluded.calls_days, "
            "updated_at = excluded.updated_at",
            [tenant_id, retention.recordings_days, retention.calls_days, utcnow()],
        )

    def _delete(self, table: str, tenant_id: str, item_id: str) -> None:
        if not self._store.scalar(f"SELECT count(*) FROM {table} WHERE id = ? AND tenant_id = ?", [item_id, tenant_id]):
            raise NotFoundError(f"no '{item_id}' in this business")
        self._store.execute(f"DELETE FROM {table} WHERE id = ? AND tenant_id = ?", [item_id, tenant_id])
