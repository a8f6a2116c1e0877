"""The CLI's work sent to the running server over loopback, with the token it left in ``server.json``."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import msgspec

from appliance.server_file import ServerFile
from core.errors import ApplianceError, NotFoundError
from core.store.tenants import TenantSummary
from core.tenants.document import TenantDocument
from kb.catalog import KnowledgeSummary, SourceInfo
from kb.fusion import Hit
from kb.jobs import IngestJob
from kb.progress import OnProgress
from kb.suggest import ServiceSuggestion
from sip.status import SipStatus
from web.erasure import Erased
from web.queries.calls import CallPage

if TYPE_CHECKING:
    from core.calls.simulate import SimulationReport, SimulationRequest

_POLL_S = 0.3


class RemoteBackend:
    def __init__(self, server: ServerFile) -> None:
        # Straight to the server's own address: a proxy from the environment would be handed the CLI's token.
        self._client = httpx.Client(
            base_url=server.url,
            trust_env=False,
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
        # The module that defines the report also holds the call loop (audio, the models' interfaces): only a
        # simulation, which is slow anyway, pays for importing it.
        from core.calls.simulate import SimulationReport

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

    def forget_caller(self, tenant_id: str, number: str) -> Erased:
        path = f"/api/v1/tenants/{quote(tenant_id, safe='')}/callers/{quote(number, safe='')}"
        return msgspec.convert(self._request("DELETE", path), Erased)

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
