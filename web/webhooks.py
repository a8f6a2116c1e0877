"""Webhooks: a business's own endpoints told when something happens, as JSON signed with the webhook's key
(``X-Appliance-Signature: sha256=<hex HMAC of the body>``). Sent off the call's path, retried with backoff; a
failure is logged and never reaches the call.

``call.ended`` carries the call with its outcomes and, once the post-call analysis has written it, its summary:
so it is sent when the analysis is saved (or at once, for a call with nothing to analyse). ``booking.created``,
``booking.cancelled``, ``lead.created`` and ``message.taken`` are sent as the tool that did it returns, during the
call (a booking moved to another time is one of each booking event)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec

from core.dialogue.outcome import achieved
from core.errors import NotFoundError
from core.outbound.client import OutboundClient, Unreachable
from core.records import CallRecord, ToolCallRecord
from core.tenants.document import ALLOW_HOSTS
from web.store.business import BusinessSettings, Webhook

log = logging.getLogger("appliance.web.webhooks")
# What a tool's outcome (core.dialogue.outcome) is told as.
_TOOL_EVENTS = {
    "booking_created": ("booking.created",),
    "booking_changed": ("booking.cancelled", "booking.created"),
    "booking_cancelled": ("booking.cancelled",),
    "lead_captured": ("lead.created",),
    "message_taken": ("message.taken",),
}
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
        """A call ended, or its analysis was saved: sent once the analysis is no longer pending."""
        if call.analysis_state != "pending":
            self._spawn(self._send_all(call.tenant_id, "call.ended", {"call": call}))

    def tool_called(self, call: CallRecord, tool: ToolCallRecord) -> None:
        for event in _TOOL_EVENTS.get(achieved(tool) or "", ()):
            data = {"call_id": call.id, "caller": call.caller, "tool": tool.name, "details": tool.arguments}
            self._spawn(self._send_all(call.tenant_id, event, {**data, "result": tool.result}))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
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
