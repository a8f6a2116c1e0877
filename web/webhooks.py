"""Webhooks: a business's own endpoints told when something happens (for now, when a call has ended), as JSON
signed with the webhook's key (``X-Appliance-Signature: sha256=<hex HMAC of the body>``). Sent off the call's
path, retried with backoff; a failure is logged and never reaches the call."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from core.errors import NotFoundError
from core.outbound.client import OutboundClient, Unreachable
from core.records import CallRecord
from core.tenants.document import ALLOW_HOSTS
from web.store.business import BusinessSettings, Webhook

log = logging.getLogger("appliance.web.webhooks")
ATTEMPTS = 3
TIMEOUT_S = 5.0


def signature(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(
        self, business: BusinessSettings, allow_hosts: Callable[[str], list[str]], backoff_s: float = 1.0
    ) -> None:
        """``allow_hosts(tenant_id)``: the business's own hosts its webhooks may reach although private."""
        self._business = business
        self._allow_hosts = allow_hosts
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
        if not hooks:
            return
        try:
            allow = await asyncio.to_thread(self._allow_hosts, tenant_id)
        except NotFoundError:  # the business is gone: its own hosts with it
            allow = []
        body = msgspec.json.encode({"event": event, "tenant": tenant_id, **data})
        async with OutboundClient.allowing(allow, ALLOW_HOSTS, timeout_s=TIMEOUT_S) as client:
            await asyncio.gather(*(self._send(client, tenant_id, hook, event, body) for hook in hooks))

    async def _send(self, client: OutboundClient, tenant_id: str, hook: Webhook, event: str, body: bytes) -> None:
        key = await asyncio.to_thread(self._business.webhook_key, tenant_id, hook.id)
        headers = {"Content-Type": "application/json", "X-Appliance-Event": event}
        if key:
            headers["X-Appliance-Signature"] = signature(key, body)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with client.stream("POST", hook.url, content=body, headers=headers) as opened:
                    status = opened.response.status_code  # the body is not read
                if status < 300:
                    return
                problem = f"answered {status}"
            except Unreachable as exc:
                problem = exc.detail
            if attempt < ATTEMPTS:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        log.warning("webhook %s (%s) for %s failed %d times: %s", hook.id, hook.url, event, ATTEMPTS, problem)
