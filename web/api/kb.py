"""The knowledge base over the API: sources (websites, files, the tenant's FAQ) added as jobs to watch, listed,
searched and removed, and services suggested from the knowledge."""

from __future__ import annotations

import logging
from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_413_REQUEST_ENTITY_TOO_LARGE

from kb.catalog import KnowledgeSummary
from kb.fusion import Hit
from kb.jobs import IngestJob
from kb.suggest import ServiceSuggestion
from kb.upload import UploadTooLarge
from web.auth.policy import Permission
from web.host import WebHost

log = logging.getLogger(__name__)


class WebsiteRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    url: str
    depth: int | None = None  # links followed from the first page (default: kb.max_depth)
    max_pages: int | None = None  # default: kb.max_pages


class KnowledgeController(Controller):
    path = "/api/v1/kb"
    tags = ["knowledge"]

    @get("/{tenant_id:str}", permission=Permission.KNOWLEDGE_READ, sync_to_thread=True)
    def summary(self, runtime: WebHost, tenant_id: str) -> KnowledgeSummary:
        """The tenant's mode (inline or retrieval), size and sources, with what each one skipped."""
        return runtime.kb.summary(tenant_id)

    @post("/{tenant_id:str}/websites", permission=Permission.KNOWLEDGE_WRITE, status_code=HTTP_202_ACCEPTED)
    async def add_website(self, runtime: WebHost, tenant_id: str, data: WebsiteRequest) -> IngestJob:
        """Crawl a website (same site only, robots.txt obeyed) as one source; watch the returned job."""
        runtime.tenants.get(tenant_id)
        kb = runtime.kb
        return kb.jobs.start(
            tenant_id,
            data.url,
            lambda report: kb.add_website(
                tenant_id, data.url, depth=data.depth, max_pages=data.max_pages, progress=report, actor="api"
            ),
        )

    @put(
        "/{tenant_id:str}/files/{name:str}",
        permission=Permission.KNOWLEDGE_WRITE,
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=None,
    )
    async def add_file(self, runtime: WebHost, tenant_id: str, name: str, request: Request) -> IngestJob:  # type: ignore[type-arg]
        """Add a PDF, HTML, text or Markdown file, sent as the request body; watch the returned job. A body over
        ``kb.max_file_mb`` is refused with 413 as soon as it passes the limit."""
        runtime.tenants.get(tenant_id)
        kb = runtime.kb
        # To a temporary file as it arrives (never whole in memory); the job reads it under the tenant's lock.
        declared = request.headers.get("content-length", "")
        try:
            path = await kb.receive(name, request.stream(), declared=int(declared) if declared.isdigit() else None)
        except UploadTooLarge as exc:
            log.warning(
                "knowledge upload %s for tenant %s refused: over kb.max_file_mb (%s MB); raise it in the settings "
                "if such files are expected", name, tenant_id, kb.settings.max_file_mb,
            )  # fmt: skip
            raise HTTPException(status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE, detail=str(exc)) from None
        return kb.jobs.start(
            tenant_id, name, lambda report: kb.add_upload(tenant_id, name, path, progress=report, actor="api")
        )

    @post("/{tenant_id:str}/faq", permission=Permission.KNOWLEDGE_WRITE, status_code=HTTP_202_ACCEPTED)
    async def add_faq(self, runtime: WebHost, tenant_id: str) -> IngestJob:
        """Add (or refresh) the FAQ text of the tenant file as a searchable source."""
        runtime.tenants.get(tenant_id)
        kb = runtime.kb
        return kb.jobs.start(tenant_id, "faq", lambda report: kb.add_faq(tenant_id, progress=report, actor="api"))

    @get("/{tenant_id:str}/jobs/{job_id:str}", permission=Permission.KNOWLEDGE_READ, sync_to_thread=False)
    def job(self, runtime: WebHost, tenant_id: str, job_id: str) -> IngestJob:
        """An ingest's progress, and its result or error once finished."""
        return runtime.kb.jobs.get(job_id, tenant_id)

    @get("/{tenant_id:str}/search", permission=Permission.KNOWLEDGE_READ)
    async def search(
        self,
        runtime: WebHost,
        tenant_id: str,
        q: Annotated[str, Parameter(min_length=1, max_length=1000, description="The question")],
        limit: Annotated[int, Parameter(ge=1, le=20)] = 5,
    ) -> list[Hit]:
        """The best passages, with their source, fused score and the legs (BM25, vector) that found them."""
        runtime.tenants.get(tenant_id)
        return await runtime.kb.hits(tenant_id, q, limit)

    @delete("/{tenant_id:str}/sources", permission=Permission.KNOWLEDGE_WRITE)
    async def remove(
        self, runtime: WebHost, tenant_id: str, source: Annotated[str, Parameter(description="As listed")]
    ) -> None:
        """Remove a source and its chunks."""
        await runtime.kb.remove(tenant_id, source, actor="api")

    @post("/{tenant_id:str}/service-suggestions", permission=Permission.KNOWLEDGE_WRITE)
    async def suggest(self, runtime: WebHost, tenant_id: str) -> list[ServiceSuggestion]:
        """Bookable services proposed by the LLM from the knowledge; save the accepted ones in the tenant."""
        return await runtime.kb.suggest_services(tenant_id)
