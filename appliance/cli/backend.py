"""Where a CLI command's work is done.

DuckDB lets one process at a time write the database. While ``appliance serve`` runs it holds the file, and it
leaves its address and a token in ``<data>/run/server.json``; the CLI then sends its work to that server over
loopback. Otherwise the CLI opens the store itself.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from appliance.server_file import read_server_file

if TYPE_CHECKING:
    from appliance.settings import Settings
    from core.calls.simulate import SimulationReport, SimulationRequest
    from core.store.tenants import TenantSummary
    from core.tenants.document import TenantDocument
    from kb.catalog import KnowledgeSummary, SourceInfo
    from kb.fusion import Hit
    from kb.progress import OnProgress
    from kb.suggest import ServiceSuggestion
    from sip.status import SipStatus
    from web.erasure import Erased
    from web.queries.calls import CallPage


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

    def forget_caller(self, tenant_id: str, number: str) -> Erased: ...

    def close(self) -> None: ...


def connect(settings: Settings) -> Backend:
    # Each backend is imported only when chosen: the local one loads the whole application (the store, the
    # models' runtimes, LanceDB), which a command sent to the running server must not wait for.
    server = read_server_file(settings)
    if server is not None and _alive(server.pid):
        from appliance.cli.remote import RemoteBackend

        return RemoteBackend(server)
    from appliance.cli.local import LocalBackend

    return LocalBackend(settings)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
