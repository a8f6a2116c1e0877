"""Where a CLI command's work is done.

DuckDB lets one process at a time write the database. While ``appliance serve`` runs it holds the file, and it
leaves its address and a token in ``<data>/run/server.json``; the CLI then sends its work to that server over
loopback. Otherwise the CLI opens the store itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import msgspec

from appliance.runtime import Runtime
from appliance.server_file import ServerFile, read_server_file
from appliance.settings import Settings
from core.calls.simulate import SimulationReport, SimulationRequest, run_simulation
from core.errors import ApplianceError, NotFoundError
from core.store.tenants import TenantSummary
from core.tenants.document import TenantDocument
from kb.base import KnowledgeSummary
from kb.catalog import SourceInfo
from kb.fusion import Hit
from kb.jobs import IngestJob
from kb.progress import OnProgress
from kb.suggest import ServiceSuggestion
from sip.startup import idle_status, off_reason
from sip.status import SipStatus
from web.queries.calls import CallFilter, CallPage, TenantCalls

_POLL_S = 0.3


class Backend(Protocol):
    def save_tenant(self, doc: TenantDocument, *, replace: bool) -> bool: ...

    def tenant_exists(self, tenant_id: str) -> bool: ...

    def get_tenant(self, tenant_id: str) -> TenantDocument: ...

    def list_tenants(self) -> list[TenantSummary]: ...

    def simulate(self, request: SimulationRequest) -> SimulationReport: ...

    def kb_add_website(
        self, tenant_id: str, url: str, depth: int | None, max_pages: int | None, progress: OnProgress
    ) -> SourceInfo: ...

    def kb_add_file(self, tenant_id: str, name: str, data: bytes, progress: OnProgress) -> SourceInfo: ...

    def kb_add_faq(self, tenant_id: str, progress: OnProgress) -> SourceInfo: ...

    def kb_summary(self, tenant_id: str) -> KnowledgeSummary: ...

    def kb_search(self, tenant_id: str, question: str, limit: int) -> list[Hit]: ...

    def kb_remove(self, tenant_id: str, source: str) -> None: ...

    def kb_suggest_services(self, tenant_id: str) -> list[ServiceSuggestion]: ...
    def sip_status(self) -> SipStatus: ...

    def list_calls(self, tenant_id: str, limit: int) -> CallPage: ...

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

    def get_tenant(self, tenant_id: str) -> TenantDocument:
        return self._runtime.tenants.get(tenant_id)

    def list_tenants(self) -> list[TenantSummary]:
        return self._runtime.tenants.summaries()

    def simulate(self, request: SimulationRequest) -> SimulationReport:
        return asyncio.run(run_simulation(self._runtime, request))

    def kb_add_website(
        self, tenant_id: str, url: str, depth: int | None, max_pages: int | None, progress: OnProgress
    ) -> SourceInfo:
        return asyncio.run(
            self._runtime.kb.add_website(tenant_id, url, depth=depth, max_pages=max_pages, progress=progress)
        )

    def kb_add_file(self, tenant_id: str, name: str, data: bytes, progress: OnProgress) -> SourceInfo:
        return asyncio.run(self._runtime.kb.add_file(tenant_id, name, data, progress=progress))

    def kb_add_faq(self, tenant_id: str, progress: OnProgress) -> SourceInfo:
        return asyncio.run(self._runtime.kb.add_faq(tenant_id, progress=progress))

    def kb_summary(self, tenant_id: str) -> KnowledgeSummary:
        return self._runtime.kb.summary(tenant_id)

    def kb_search(self, tenant_id: str, question: str, limit: int) -> list[Hit]:
        self._runtime.tenants.get(tenant_id)
        return asyncio.run(self._runtime.kb.hits(tenant_id, question, limit))

    def kb_remove(self, tenant_id: str, source: str) -> None:
        asyncio.run(self._runtime.kb.remove(tenant_id, source))

    def kb_suggest_services(self, tenant_id: str) -> list[ServiceSuggestion]:
        return asyncio.run(self._runtime.kb.suggest_services(tenant_id))

    def list_calls(self, tenant_id: str, limit: int) -> CallPage:
        self._runtime.tenants.get(tenant_id)
        calls = TenantCalls(self._runtime.store, self._runtime.calls, tenant_id, self._runtime.settings.recordings_path)
        return calls.search(CallFilter(limit=limit))

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

    def get_tenant(self, tenant_id: str) -> TenantDocument:
        return msgspec.convert(self._request("GET", f"/api/v1/tenants/{tenant_id}"), TenantDocument)

    def list_tenants(self) -> list[TenantSummary]:
        return msgspec.convert(self._request("GET", "/api/v1/tenants"), list[TenantSummary])

    def simulate(self, request: SimulationRequest) -> SimulationReport:
        body = self._request("POST", "/api/v1/calls/simulate", json=msgspec.to_builtins(request))
        return msgspec.convert(body, SimulationReport)

    def kb_add_website(
        self, tenant_id: str, url: str, depth: int | None, max_pages: int | None, progress: OnProgress
    ) -> SourceInfo:
        body = {"url": url, "depth": depth, "max_pages": max_pages}
        return self._watch(self._request("POST", f"/api/v1/kb/{tenant_id}/websites", json=body), progress)

    def kb_add_file(self, tenant_id: str, name: str, data: bytes, progress: OnProgress) -> SourceInfo:
        path = f"/api/v1/kb/{tenant_id}/files/{quote(name, safe='')}"
        return self._watch(self._request("PUT", path, content=data), progress)

    def kb_add_faq(self, tenant_id: str, progress: OnProgress) -> SourceInfo:
        return self._watch(self._request("POST", f"/api/v1/kb/{tenant_id}/faq"), progress)

    def kb_summary(self, tenant_id: str) -> KnowledgeSummary:
        return msgspec.convert(self._request("GET", f"/api/v1/kb/{tenant_id}"), KnowledgeSummary)

    def kb_search(self, tenant_id: str, question: str, limit: int) -> list[Hit]:
        found = self._request("GET", f"/api/v1/kb/{tenant_id}/search", params={"q": question, "limit": limit})
        return msgspec.convert(found, list[Hit])

    def kb_remove(self, tenant_id: str, source: str) -> None:
        self._check(self._send("DELETE", f"/api/v1/kb/{tenant_id}/sources", params={"source": source}))

    def kb_suggest_services(self, tenant_id: str) -> list[ServiceSuggestion]:
        found = self._request("POST", f"/api/v1/kb/{tenant_id}/service-suggestions")
        return msgspec.convert(found, list[ServiceSuggestion])

    def sip_status(self) -> SipStatus:
        return msgspec.convert(self._request("GET", "/api/v1/sip"), SipStatus)

    def list_calls(self, tenant_id: str, limit: int) -> CallPage:
        body = self._request("GET", f"/api/v1/tenants/{tenant_id}/calls", params={"limit": limit})
        return msgspec.convert(body, CallPage)

    def close(self) -> None:
        self._client.close()

    def _watch(self, started: object, progress: OnProgress) -> SourceInfo:
        """Follow an ingest job on the server until it finishes."""
        job = msgspec.convert(started, IngestJob)
        while job.state == "running":
            progress(job.progress)
            time.sleep(_POLL_S)
            job = msgspec.convert(self._request("GET", f"/api/v1/kb/{job.tenant_id}/jobs/{job.id}"), IngestJob)
        if job.state == "failed" or job.result is None:
            raise ApplianceError(job.error or "the ingest failed; see the appliance log")
        return job.result

    def _request(self, method: str, path: str, **kwargs: object) -> Any:
        response = self._send(method, path, **kwargs)
        self._check(response)
        return response.json()

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
