"""Webhooks: a business's own endpoints told when something happens (for now, when a call has ended), as JSON
signed with the webhook's key (``X-Appliance-Signature: sha256=<hex HMAC of the body>``). Sent off the call's
path, retried with backoff; a failure is logged and never reaches the call."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from typing import Any

import httpx
import msgspec

from core.records import CallRecord
from web.store.business import BusinessSettings, Webhook

log = logging.getLogger("appliance.web.webhooks")
ATTEMPTS = 3
TIMEOUT_S = 5.0


def signature(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(self, business: BusinessSettings, backoff_s: float = 1.0) -> None:
        self._business = business
        self._backoff_s = backoff_s
        self._tasks: set[asyncio.Task[None]] = set()

    def call_ended(self, call: CallRecord) -> None:
        task = asyncio.get_running_loop().create_task(self._send_all(call.tenant_id, "call.ended", {"call": call}))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _send_all(self, tenant_id: str, event: str, data: dict[str, Any]) -> None:
        hooks = await asyncio.to_thread(self._business.subscribed, tenant_id, event)
        body = msgspec.json.encode({"event": event, "tenant": tenant_id, **data})
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            await asyncio.gather(*(self._send(client, tenant_id, hook, event, body) for hook in hooks))

    async def _send(self, client: httpx.AsyncClient, tenant_id: str, hook: Webhook, event: str, body: bytes) -> None:
        key = await asyncio.to_thread(self._business.webhook_key, tenant_id, hook.id)
        headers = {"Content-Type": "application/json", "X-Appliance-Event": event}
        if key:
            headers["X-Appliance-Signature"] = signature(key, body)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await client.post(hook.url, content=body, headers=headers)
                if response.status_code < 300:
                    return
                problem = f"answered {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if attempt < ATTEMPTS:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        log.warning("webhook %s (%s) for %s failed %d times: %s", hook.id, hook.url, event, ATTEMPTS, problem)
