"""A business's own tool behind an HTTP endpoint, declared in its tenant file. Each request is signed:
``X-Appliance-Signature: sha256=HMAC(secret, timestamp + "." + body)`` with ``X-Appliance-Timestamp``, so the
endpoint can check it came from this box and is fresh."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from core.tenants.document import HttpTool
from core.tools.base import ToolContext, ToolFailed


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
        self.timeout_s = spec.timeout_seconds

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        payload = {"tenant": ctx.tenant.id, "call_id": ctx.call_id, "caller": ctx.caller_number, "arguments": args}
        body = json.dumps(payload, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Appliance-Timestamp": timestamp}
        if self._spec.secret:
            headers["X-Appliance-Signature"] = signature(self._spec.secret, timestamp, body)
        try:
            async with httpx.AsyncClient(timeout=self._spec.timeout_seconds) as client:
                if self._spec.method == "GET":
                    response = await client.get(self._spec.url, params={**args}, headers=headers)
                else:
                    response = await client.post(self._spec.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ToolFailed(f"{self._spec.url} did not answer within {self._spec.timeout_seconds:g} s") from exc
        except httpx.HTTPError as exc:
            raise ToolFailed(f"{self._spec.url}: {exc!r}") from exc
        if response.status_code >= 400:
            raise ToolFailed(f"{self._spec.url} answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise ToolFailed(f"{self._spec.url} did not answer with JSON") from exc
        return data if isinstance(data, dict) else {"result": data}
