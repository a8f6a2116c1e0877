"""The CLI's work done in this process, on the store and models it opens itself (no server is running)."""

from __future__ import annotations

import asyncio

from appliance.runtime import Runtime
from appliance.settings import Settings
from core.calls.simulate import SimulationReport, SimulationRequest, run_simulation
from core.errors import NotFoundError
from core.store.tenants import TenantSummary
from core.tenants.document import TenantDocument
from core.tenants.numbers import calling_code
from kb.catalog import KnowledgeSummary, SourceInfo
from kb.fusion import Hit
from kb.progress import OnProgress
from kb.suggest import ServiceSuggestion
from sip.startup import idle_status, off_reason
from sip.status import SipStatus
from web.erasure import Erased, forget_caller
from web.queries.calls import CallFilter, CallPage, TenantCalls


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

    def forget_caller(self, tenant_id: str, number: str) -> Erased:
        doc = self._runtime.tenants.get(tenant_id)
        recordings = self._runtime.settings.recordings_path
        return forget_caller(self._runtime.store, recordings, tenant_id, number, calling_code(doc), "cli")

    def sip_status(self) -> SipStatus:
        settings = self._runtime.settings.sip
        return idle_status(
            settings,
            "not running",
            off_reason(settings) or "appliance serve is not running; trunks register only while it runs",
        )

    def close(self) -> None:
        self._runtime.close()
