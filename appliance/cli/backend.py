"""Where a CLI command's work is done.

DuckDB lets one process at a time write the database. While ``appliance serve`` runs it holds the file, and it
leaves its address and a token in ``<data>/run/server.json``; the CLI then sends its work to that server over
loopback. Otherwise the CLI opens the store itself.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Protocol

import httpx
import msgspec

from appliance.calls.records import CallRecord
from appliance.calls.simulate import SimulationReport, SimulationRequest, run_simulation
from appliance.errors import ApplianceError, NotFoundError
from appliance.runtime import Runtime
from appliance.server_file import ServerFile, read_server_file
from appliance.settings import Settings
from appliance.store.tenants import TenantSummary
from appliance.tenants.document import TenantDocument
from sip.startup import idle_status, off_reason
from sip.status import SipStatus


class Backend(Protocol):
    def save_tenant(self, doc: TenantDocument, *, replace: bool) -> bool: ...

    def tenant_exists(self, tenant_id: str) -> bool: ...

    def list_tenants(self) -> list[TenantSummary]: ...

    def simulate(self, request: SimulationRequest) -> SimulationReport: ...

    def sip_status(self) -> SipStatus: ...

    def recent_calls(self, tenant: str | None, limit: int) -> list[CallRecord]: ...

    def close(self) -> None: ...


def connect(settings: Settings) -> Backend:
    server = read_server_file(settings)
    if server is not None and _alive(server.pid):
        return RemoteBackend(server)
    return LocalBackend(settings)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalBackend:
    def __init__(self, settings: Settings) -> None:
        self._runtime = Runtime.open(settings)

    def save_tenant(self, doc: TenantDocument, *, replace: bool) -> bool:
        return self._runtime.tenants.save(doc, replace=replace, actor="cli")

    def tenant_exists(self, tenant_id: str) -> bool:
        try:
            self._runtime.tenants.get(tenant_id)
        except NotFoundError:
            return False
        return True

    def list_tenants(self) -> list[TenantSummary]:
        return self._runtime.tenants.summaries()

    def simulate(self, request: SimulationRequest) -> SimulationReport:
        return asyncio.run(run_simulation(self._runtime, request))

    def recent_calls(self, tenant: str | None, limit: int) -> list[CallRecord]:
        return self._runtime.calls.recent(tenant, limit)

    def sip_status(self) -> SipStatus:
        settings = self._runtime.settings.sip
        return idle_status(
            settings,
            "not running",
            off_reason(settings) or "appliance serve is not running; trunks register only while it runs",
        )

    def close(self) -> None:
        self._runtime.close()


class RemoteBackend:
    def __init__(self, server: ServerFile) -> None:
        self._client = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.token}"},
            timeout=httpx.Timeout(10.0, read=600.0),
        )
        self._url = server.url

    def save_tenant(self, doc: TenantDocument, *, replace: bool) -> bool:
        body = self._request("PUT" if replace else "POST", "/api/v1/tenants", json=msgspec.to_builtins(doc))
        return bool(body.get("existed", False))

    def tenant_exists(self, tenant_id: str) -> bool:
        response = self._send("GET", f"/api/v1/tenants/{tenant_id}")
        if response.status_code == 404:
            return False
        self._check(response)
        return True

    def list_tenants(self) -> list[TenantSummary]:
        return msgspec.convert(self._request("GET", "/api/v1/tenants"), list[TenantSummary])

    def simulate(self, request: SimulationRequest) -> SimulationReport:
        body = self._request("POST", "/api/v1/calls/simulate", json=msgspec.to_builtins(request))
        return msgspec.convert(body, SimulationReport)

    def sip_status(self) -> SipStatus:
        return msgspec.convert(self._request("GET", "/api/v1/sip/status"), SipStatus)

    def recent_calls(self, tenant: str | None, limit: int) -> list[CallRecord]:
        params: dict[str, str | int] = {"limit": limit} | ({"tenant": tenant} if tenant else {})
        return msgspec.convert(self._request("GET", "/api/v1/calls", params=params), list[CallRecord])

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: object) -> dict:  # type: ignore[type-arg]
        response = self._send(method, path, **kwargs)
        self._check(response)
        return response.json()  # type: ignore[no-any-return]

    def _send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise ApplianceError(f"the running appliance at {self._url} did not answer: {exc}") from None

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            detail = response.json().get("detail", response.text)
        except json.JSONDecodeError:
            detail = response.text
        if response.status_code == 404:
            raise NotFoundError(str(detail))
        raise ApplianceError(str(detail))
