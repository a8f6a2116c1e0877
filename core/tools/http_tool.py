"""A business's own tool behind an HTTP endpoint, declared in its tenant file. Each request is signed:
``X-Appliance-Signature: sha256=HMAC(secret, timestamp + "." + body)`` with ``X-Appliance-Timestamp``, so the
endpoint can check it came from this box and is fresh."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

from core.outbound.client import UNREACHABLE, OutboundClient, Unreachable
from core.tenants.document import ALLOW_HOSTS, HttpTool
from core.tools.base import ToolContext, ToolFailed

log = logging.getLogger(__name__)
# The runner's limit is a little longer than the tool's own, so that a slow endpoint fails here, in the same words
# as a closed port or a refused address, and not with the runner's "timed out".
_RUNNER_MARGIN_S = 1.0


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class TenantHttpTool:
    mutating = False

    def __init__(self, spec: HttpTool) -> None:
        self._spec = spec
        self.name = spec.name
        self.description = spec.description
        self.parameters = spec.parameters
        self.timeout_s = spec.timeout_seconds + _RUNNER_MARGIN_S

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        payload = {"tenant": ctx.tenant.id, "call_id": ctx.call_id, "caller": ctx.caller_number, "arguments": args}
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Appliance-Timestamp": timestamp}
        if self._spec.secret:
            headers["X-Appliance-Signature"] = signature(self._spec.secret, timestamp, body)
        limit = self._spec.timeout_seconds
        client = OutboundClient.allowing(ctx.tenant.allow_hosts, ALLOW_HOSTS, timeout_s=limit)
        try:
            async with asyncio.timeout(limit), client:
                if self._spec.method == "GET":
                    answer = await client.request("GET", self._spec.url, params={**args}, headers=headers)
                else:
                    answer = await client.request("POST", self._spec.url, content=body, headers=headers)
        except Unreachable as exc:  # the same words for every cause; what happened is in the log
            raise ToolFailed(f"{self.name}: {exc}") from None
        except TimeoutError:
            log.warning("tool %s of %s: no answer within %g s", self.name, ctx.tenant.id, limit)
            raise ToolFailed(f"{self.name}: {UNREACHABLE}") from None
        if answer.status >= 400:
            raise ToolFailed(f"{self.name}: the service answered {answer.status}")
        try:
            data = answer.json()
        except ValueError:
            raise ToolFailed(f"{self.name}: the service did not answer with JSON") from None
        return data if isinstance(data, dict) else {"result": data}
