"""The knowledge base of every tenant on this box: add, list, search and remove sources, and what the
conversation asks of it (``core.knowledge.Knowledge``)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from core.knowledge import Passage
from core.outbound.guard import AddressPolicy, Guard, Resolver
from core.store.database import Store
from core.store.tenants import TenantRepository
from kb.catalog import Catalog, KnowledgeSummary, Mode, SourceInfo, SourceRecord
from kb.chunk import Chunker
from kb.crawl import CrawlLimits, crawl
from kb.document import Document, Section
from kb.errors import IngestBusy, SourceError
from kb.fetch import Fetcher, FetchLimits
from kb.fusion import Hit, fuse
from kb.index import Index, table_name
from kb.ingest import Collected, build, prepare
from kb.jobs import Jobs
from kb.pdf import tesseract
from kb.progress import OnProgress, Progress, ignore
from kb.read import KINDS, ReadOptions, content_type_of, read
from kb.settings import KbSettings
from kb.suggest import QUERY as SERVICES_QUERY
from kb.suggest import ServiceSuggestion, suggest_services
from kb.upload import discard, receive, remove_stale
from models.interfaces import Embedder, LlmProvider

log = logging.getLogger(__name__)

FAQ = "faq"
# Each leg's hits that go into the fusion: as many as are returned (at least 5), as LanceDB's own hybrid query
# and Elasticsearch's rank window do. A deeper window lets chunks that one leg ranks low but both legs list
# outrank the other leg's best: on the bench QA set, windows of 10 and 20 lost recall (bench/kb.py, README).
MIN_WINDOW = 5
MIN_SIMILARITY = 0.2  # below this a passage is not about the question, whichever leg found it
# What the rest of a call's prompt needs beside inline knowledge: skills and business facts (about 700 tokens),
# the history and the reply.
PROMPT_RESERVE = 1536


class Models(Protocol):
    def embedder(self) -> Embedder: ...

    def llm(self) -> LlmProvider: ...


class KnowledgeBase:
    def __init__(
        self,
        settings: KbSettings,
        store: Store,
        tenants: TenantRepository,
        models: Models,
        root: Path,
        *,
        llm_context: int,
        resolver: Resolver | None = None,
    ) -> None:
        self.settings = settings
        self._llm_context = llm_context
        self._catalog = Catalog(store)
        self._tenants = tenants
        self._models = models
        self._root = root
        self._index = Index(root / "lance")
        self._guard = Guard(AddressPolicy(settings.allow_hosts, "kb.allow_hosts"), resolver)
        self._running: dict[str, str] = {}
        self._inline: dict[str, str | None] = {}
        self.on_change: list[Callable[[str], Awaitable[None]]] = []  # called with a tenant id after each change
        self.jobs = Jobs()
        # Per tenant, what runs the ``on_change`` hooks after its latest change.
        self._hooks: dict[str, asyncio.Task[None]] = {}
        self._drop_orphans()
        remove_stale(self._uploads)

    # What the conversation uses.

    def mode(self, tenant_id: str) -> Mode:
        return self._catalog.knowledge(tenant_id).mode

    def inline(self, tenant_id: str) -> str | None:
        if tenant_id not in self._inline:
            self._inline[tenant_id] = self._inline_text(tenant_id)
        return self._inline[tenant_id]

    async def search(self, tenant_id: str, question: str, limit: int = 5) -> list[Passage]:
        hits = await self.hits(tenant_id, question, limit)
        return [
            Passage(text=h.text, source=h.location, heading=h.heading, score=h.score)
            for h in hits
            if h.similarity >= MIN_SIMILARITY
        ]

    # Operations.

    async def hits(self, tenant_id: str, question: str, limit: int = 5) -> list[Hit]:
        """The best chunks for ``question`` from the tenant's own table: BM25 and vector legs run together,
        fused by Reciprocal Rank Fusion."""
        table = self._catalog.knowledge(tenant_id).table_name
        if table is None or not question.strip():
            return []
        embedder = await asyncio.to_thread(self._models.embedder)

        window = max(limit, MIN_WINDOW)

        async def vector_leg() -> tuple[np.ndarray, list]:  # type: ignore[type-arg]
            query = (await embedder.embed([question]))[0]
            return query, await self._index.vector_leg(table, query, window)

        (query, by_vector), by_text = await asyncio.gather(vector_leg(), self._index.text_leg(table, question, window))
        return fuse(by_text, by_vector, limit, query)

    def summary(self, tenant_id: str) -> KnowledgeSummary:
        self._tenants.get(tenant_id)
        return KnowledgeSummary(knowledge=self._catalog.knowledge(tenant_id), sources=self._catalog.sources(tenant_id))

    async def add_website(
        self,
        tenant_id: str,
        url: str,
        *,
        depth: int | None = None,
        max_pages: int | None = None,
        progress: OnProgress = ignore,
        actor: str = "cli",
    ) -> SourceInfo:
        s = self.settings
        depth = s.max_depth if depth is None else depth
        max_pages = s.max_pages if max_pages is None else max_pages
        if not 0 <= depth <= 10 or not 1 <= max_pages <= s.max_pages:
            raise SourceError(f"depth must be 0 to 10 and pages 1 to {s.max_pages} (kb.max_pages)")
        if not url.startswith(("http://", "https://")):
            raise SourceError(f"'{url}' is not a web address (http:// or https://)")
        limits = CrawlLimits(depth, max_pages, int(s.max_site_mb * 2**20), s.max_crawl_seconds)

        async def collect(report: OnProgress) -> Collected:
            def on_page(count: int, page: str) -> None:
                report(Progress(phase="fetching", done=count, total=None, detail=page))

            async with self._fetcher() as fetcher:
                found = await crawl(fetcher, url, limits, self._read_options(), s.user_agent, on_page)
            return Collected(found.documents, found.notes)

        kind = "website" if depth > 0 else "page"
        options = {"depth": depth, "max_pages": max_pages}
        return await self._ingest(tenant_id, url, kind, options, collect, progress, actor, deduplicate=True)

    async def add_file(
        self, tenant_id: str, name: str, data: bytes | Path, *, progress: OnProgress = ignore, actor: str = "cli"
    ) -> SourceInfo:
        """Add a file given as its bytes, or as a file on disk (an upload received by ``receive``), which is read
        only once the tenant's lock is held."""
        name = Path(name).name
        if not name:
            raise SourceError("a file needs a name")
        limit = self.file_limit()
        size, head = await asyncio.to_thread(_size_and_head, data) if isinstance(data, Path) else (len(data), data)
        if size > limit:
            raise SourceError(f"{name}: {size >> 20} MB is over the limit of {limit >> 20} MB (kb.max_file_mb)")
        content_type = content_type_of(name, head)

        async def collect(report: OnProgress) -> Collected:
            report(Progress(phase="extracting", detail=name))
            body = await asyncio.to_thread(data.read_bytes) if isinstance(data, Path) else data
            found = await asyncio.to_thread(read, body, content_type, None, name, self._read_options())
            return Collected([found.document], found.document.notes)

        return await self._ingest(tenant_id, name, KINDS[content_type], {}, collect, progress, actor)

    async def receive(self, name: str, pieces: AsyncIterable[bytes], *, declared: int | None = None) -> Path:
        """An upload written to a temporary file under the knowledge directory as it arrives; refused with
        ``UploadTooLarge`` (nothing kept) as soon as it passes ``kb.max_file_mb``. Give it to ``add_upload``."""
        return await receive(pieces, self._uploads, Path(name).name, self.file_limit(), declared=declared)

    async def add_upload(
        self, tenant_id: str, name: str, path: Path, *, progress: OnProgress = ignore, actor: str = "api"
    ) -> SourceInfo:
        """``add_file`` from a file made by ``receive``, which is removed once done, whatever the outcome."""
        try:
            return await self.add_file(tenant_id, name, path, progress=progress, actor=actor)
        finally:
            discard(path)

    def file_limit(self) -> int:
        return int(self.settings.max_file_mb * 2**20)

    async def add_faq(self, tenant_id: str, *, progress: OnProgress = ignore, actor: str = "cli") -> SourceInfo:
        """The FAQ text of the tenant file, so that it can be searched like any other source."""
        tenant = self._tenants.get(tenant_id)

        async def collect(_: OnProgress) -> Collected:
            if not tenant.faq.strip():
                raise SourceError(f"tenant '{tenant_id}' has no faq in its tenant file")
            return Collected([Document(FAQ, "Frequently asked questions", [Section((), tenant.faq.strip())])], [])

        return await self._ingest(tenant_id, FAQ, "faq", {}, collect, progress, actor)

    async def remove(self, tenant_id: str, source: str, *, actor: str = "cli") -> None:
        self._tenants.get(tenant_id)
        if source not in {s.source for s in self._catalog.sources(tenant_id)}:
            raise SourceError(f"tenant '{tenant_id}' has no source '{source}' (see: appliance kb list)")
        async with self._exclusive(tenant_id, source):
            current = self._catalog.knowledge(tenant_id).table_name
            kept = await asyncio.to_thread(self._index.read, current, without_source=source)
            table = None
            if kept is not None and kept.num_rows:
                table = table_name(tenant_id)
                await asyncio.to_thread(self._index.build, table, kept)
            others = [(s, q, t) for s, q, t in self._catalog.quoted(tenant_id) if s != source]
            mode, tokens = await self._mode(others)
            self._catalog.swap(
                tenant_id, table_name=table, mode=mode, tokens=tokens,
                chunks=0 if kept is None else kept.num_rows, saved=None, removed=source, actor=actor,
            )  # fmt: skip
            await self._swapped(tenant_id, current)
        log.info("removed knowledge source %s of tenant %s", source, tenant_id)

    async def suggest_services(self, tenant_id: str) -> list[ServiceSuggestion]:
        """Bookable services proposed by the LLM from the tenant's knowledge, for the owner to accept or edit."""
        tenant = self._tenants.get(tenant_id)
        hits = await self.hits(tenant_id, SERVICES_QUERY, limit=8)
        llm = await asyncio.to_thread(self._models.llm)
        return await suggest_services(llm, tenant.name, hits)

    async def close(self) -> None:
        """Stop ingests still running (their tables are dropped; the previous knowledge stays current)."""
        await self.jobs.close()
        tasks = list(self._hooks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Internals.

    async def _ingest(
        self,
        tenant_id: str,
        source: str,
        kind: str,
        options: dict[str, int],
        collect: Callable[[OnProgress], Awaitable[Collected]],
        progress: OnProgress,
        actor: str,
        *,
        deduplicate: bool = False,
    ) -> SourceInfo:
        self._tenants.get(tenant_id)
        async with self._exclusive(tenant_id, source):
            current = self._catalog.knowledge(tenant_id).table_name
            built = None
            try:
                progress(Progress(phase="fetching", detail=source))
                documents, notes = prepare(await collect(progress), deduplicate=deduplicate)
                llm = await asyncio.to_thread(self._models.llm)
                embedder = await asyncio.to_thread(self._models.embedder)
                chunker = Chunker(llm.count_tokens, self.settings.chunk_tokens, self.settings.chunk_overlap_tokens)
                built = await build(
                    tenant_id=tenant_id, source=source, documents=documents, notes=notes, chunker=chunker,
                    count=llm.count_tokens, embedder=embedder, index=self._index, current=current, progress=progress,
                )  # fmt: skip
                others = [(s, q, t) for s, q, t in self._catalog.quoted(tenant_id) if s != source]
                mode, tokens = await self._mode([*others, (source, built.quoted, built.tokens)])
                record = SourceRecord(
                    source=source, kind=kind, pages=built.pages, chunks=built.chunks, tokens=built.tokens,
                    notes=built.notes, quoted=built.quoted, options=options,
                )  # fmt: skip
                self._catalog.swap(
                    tenant_id, table_name=built.table, mode=mode, tokens=tokens, chunks=built.total_chunks,
                    saved=record, removed=None, actor=actor,
                )  # fmt: skip
            except (SourceError, OSError) as exc:
                if built is not None:
                    await asyncio.to_thread(self._index.drop, built.table)
                kept = self._catalog.mark_stale(tenant_id, source, str(exc))
                log.warning(
                    "ingest of %s for tenant %s failed: %s%s", source, tenant_id, exc,
                    "; its previous content is kept and marked stale" if kept else "",
                )  # fmt: skip
                if kept:
                    raise SourceError(f"{exc}; the previous content of {source} is kept, marked stale") from None
                raise SourceError(str(exc)) from None
            except BaseException:
                if built is not None:
                    await asyncio.to_thread(self._index.drop, built.table)
                raise
            await self._swapped(tenant_id, current)
        info = next(s for s in self._catalog.sources(tenant_id) if s.source == source)
        log.info(
            "ingested %s for tenant %s: %d pages, %d chunks, %d tokens; knowledge is %s (%d tokens)",
            source, tenant_id, info.pages, info.chunks, info.tokens, mode, tokens,
        )  # fmt: skip
        return info

    async def _mode(self, sources: list[tuple[str, str, int]]) -> tuple[Mode, int]:
        """Inline when the quoted knowledge (the FAQ is already in the prompt's business facts) is small."""
        text = _inline_block([q for s, q, _ in sources if s != FAQ])
        if not text:
            return ("inline" if sources else "none"), 0
        llm = await asyncio.to_thread(self._models.llm)
        tokens = await asyncio.to_thread(llm.count_tokens, text)
        limit = min(self.settings.inline_tokens, self._llm_context - PROMPT_RESERVE)
        return ("inline" if tokens <= limit else "retrieval"), tokens

    def _inline_text(self, tenant_id: str) -> str | None:
        if self._catalog.knowledge(tenant_id).mode != "inline":
            return None
        return _inline_block([q for s, q, _ in self._catalog.quoted(tenant_id) if s != FAQ]) or None

    async def _swapped(self, tenant_id: str, previous: str | None) -> None:
        current = self._catalog.knowledge(tenant_id).table_name
        if current is not None:
            await asyncio.to_thread(self._index.load, current)  # the first search of a call need not wait
        if previous is not None:
            await asyncio.to_thread(self._index.drop, previous)
        self._inline.pop(tenant_id, None)
        # In the background: evaluating a long new prompt takes a while, and the ingest is done. Files are often
        # added one after another: what runs for an earlier change is stopped (it would prepare a prompt that is
        # being replaced, taking the LLM from calls meanwhile), and the hooks run once the changes settle.
        earlier = self._hooks.pop(tenant_id, None)
        if earlier is not None and not earlier.done():
            earlier.cancel()
            log.info("knowledge of tenant %s changed again; preparing its prompt starts over", tenant_id)
        task = asyncio.get_running_loop().create_task(self._run_hooks(tenant_id))
        self._hooks[tenant_id] = task
        task.add_done_callback(lambda done: self._forget_hook(tenant_id, done))

    def _forget_hook(self, tenant_id: str, task: asyncio.Task[None]) -> None:
        if self._hooks.get(tenant_id) is task:
            del self._hooks[tenant_id]

    async def _run_hooks(self, tenant_id: str) -> None:
        await asyncio.sleep(self.settings.change_settle_s)
        for hook in self.on_change:
            try:
                await hook(tenant_id)
            except Exception:
                log.exception("after the knowledge of tenant %s changed, preparing its prompt failed", tenant_id)

    @contextlib.asynccontextmanager
    async def _exclusive(self, tenant_id: str, source: str) -> AsyncIterator[None]:
        """One change to a tenant's knowledge at a time, in this process and across processes."""
        running = self._running.get(tenant_id)
        if running is not None:
            raise IngestBusy(
                f"tenant '{tenant_id}' is already being updated ({running}); try again when that has finished"
            )
        locks = self._root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        fd = os.open(locks / f"{tenant_id}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IngestBusy(
                    f"tenant '{tenant_id}' is being updated by another appliance process; try again later"
                ) from None
            self._running[tenant_id] = source
            try:
                yield
            finally:
                del self._running[tenant_id]
        finally:
            os.close(fd)

    @property
    def _uploads(self) -> Path:
        return self._root / "uploads"

    def _fetcher(self) -> Fetcher:
        s = self.settings
        limits = FetchLimits(int(s.max_page_mb * 2**20), int(s.max_decompressed_mb * 2**20), s.fetch_timeout_s)
        return Fetcher(self._guard, limits, s.user_agent)

    def _read_options(self) -> ReadOptions:
        return ReadOptions(max_pdf_pages=self.settings.max_pdf_pages, ocr=tesseract())

    def _drop_orphans(self) -> None:
        """Tables left by an ingest that stopped before it was made current."""
        in_use = self._catalog.tables_in_use()
        for name in self._index.names() - in_use:
            log.info("dropping unused knowledge table %s (left by an interrupted ingest)", name)
            self._index.drop(name)


def _size_and_head(path: Path) -> tuple[int, bytes]:
    """A file's size and its first bytes, enough to tell its type."""
    with path.open("rb") as f:
        return os.fstat(f.fileno()).st_size, f.read(512)


def _inline_block(quoted: list[str]) -> str:
    """The sources' texts, each under its label; the system prompt quotes the block as reference material."""
    return "\n\n".join(q.strip() for q in quoted if q.strip())
