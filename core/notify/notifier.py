"""Sends notifications in the background with retries, recording every attempt in the store."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from core.notify.channels import DeliveryError, send_email, send_sms
from core.notify.config import NotificationSettings
from core.store.database import Store, new_id, utcnow

log = logging.getLogger(__name__)

Channel = Literal["email", "sms"]


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``most`` notifications of these kinds, on one channel, for one tenant, within ``per``. Every row
    counts, sent or not: each one asked the gateway to send, or would have."""

    kinds: tuple[str, ...]
    most: int
    per: timedelta = timedelta(days=1)


class Notifier:
    def __init__(self, store: Store, settings: NotificationSettings) -> None:
        self._store = store
        self._settings = settings
        self._tasks: set[asyncio.Task[bool]] = set()

    def send(
        self,
        *,
        tenant_id: str,
        call_id: str | None,
        kind: str,
        channel: Channel,
        target: str,
        subject: str,
        body: str,
    ) -> asyncio.Task[bool]:
        """Record the notification and start delivering it now; the task says whether it got through."""
        notification_id = new_id("ntf")
        self._insert(notification_id, tenant_id, call_id, kind, channel, target, subject, body)
        return self._start(notification_id, channel, target, subject, body)

    def send_within(
        self,
        quota: Quota,
        *,
        tenant_id: str,
        call_id: str | None,
        kind: str,
        channel: Channel,
        target: str,
        subject: str,
        body: str,
    ) -> asyncio.Task[bool] | None:
        """As ``send``, unless the tenant has used up ``quota``: then nothing is recorded or sent, and None comes
        back. The count and the new row are one transaction, so calls at the same moment cannot overshoot."""
        notification_id = new_id("ntf")
        with self._store.transaction():
            used = self._store.scalar(
                f"SELECT count(*) FROM notifications WHERE tenant_id = ? AND channel = ? "
                f"AND kind IN ({', '.join('?' * len(quota.kinds))}) AND created_at > ?",
                [tenant_id, channel, *quota.kinds, utcnow() - quota.per],
            )
            if used >= quota.most:
                return None
            self._insert(notification_id, tenant_id, call_id, kind, channel, target, subject, body)
        return self._start(notification_id, channel, target, subject, body)

    def _insert(
        self,
        notification_id: str,
        tenant_id: str,
        call_id: str | None,
        kind: str,
        channel: Channel,
        target: str,
        subject: str,
        body: str,
    ) -> None:
        self._store.execute(
            "INSERT INTO notifications (id, tenant_id, call_id, kind, channel, target, subject, body, status, "
            "attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
            [notification_id, tenant_id, call_id, kind, channel, target, subject, body, utcnow()],
        )

    def _start(
        self, notification_id: str, channel: Channel, target: str, subject: str, body: str
    ) -> asyncio.Task[bool]:
        task = asyncio.create_task(self._deliver(notification_id, channel, target, subject, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for deliveries in progress (at shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver(self, notification_id: str, channel: Channel, target: str, subject: str, body: str) -> bool:
        delay = self._settings.backoff_seconds
        for attempt in range(1, self._settings.attempts + 1):
            try:
                if channel == "email":
                    await send_email(self._settings, target, subject, body)
                else:
                    await send_sms(self._settings, target, f"{subject}: {body}" if subject else body)
            except DeliveryError as exc:
                final = attempt == self._settings.attempts or not exc.retry
                status = "failed" if final else "retrying"
                await asyncio.to_thread(self._record, notification_id, attempt, status, str(exc))
                log.warning(
                    "notification %s by %s to %s: attempt %d of %d failed: %s",
                    notification_id, channel, target, attempt, self._settings.attempts, exc,
                )  # fmt: skip
                if final:
                    return False
                await asyncio.sleep(delay)
                delay *= 2
                continue
            await asyncio.to_thread(self._record, notification_id, attempt, "sent", None)
            log.info("notification %s sent by %s to %s (attempt %d)", notification_id, channel, target, attempt)
            return True
        return False

    def _record(self, notification_id: str, attempt: int, status: str, error: str | None) -> None:
        self._store.execute(
            "UPDATE notifications SET attempts = ?, status = ?, last_error = ?, "
            "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
            [attempt, status, error, status, utcnow(), notification_id],
        )
