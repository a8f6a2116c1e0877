"""One ingest: documents in, a new version of the tenant's table out, made current only once it is complete."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from kb.boilerplate import drop_repeats
from kb.chunk import Chunk, Chunker
from kb.document import Document, Section
from kb.errors import SourceError
from kb.index import COLUMNS, Index, rows_table, table_name
from kb.progress import OnProgress, Progress
from kb.sanitize import neutralise
from models.interfaces import Embedder, Float32

log = logging.getLogger(__name__)

_BATCH = 32


@dataclass(frozen=True, slots=True)
class Collected:
    documents: list[Document]
    notes: list[str]


@dataclass(frozen=True, slots=True)
class Built:
    table: str
    chunks: int  # the new source's
    total_chunks: int  # the whole table's
    quoted: str
    tokens: int
    pages: int
    notes: list[str]


def prepare(collected: Collected, *, deduplicate: bool) -> tuple[list[Document], list[str]]:
    """Repeated site furniture dropped, instruction-like text neutralised."""
    documents = drop_repeats(collected.documents) if deduplicate else collected.documents
    notes = list(collected.notes)
    removed = 0
    cleaned = []
    for document in documents:
        sections = []
        for section in document.sections:
            text, count = neutralise(section.text)
            removed += count
            sections.append(Section(section.headings, text))
        cleaned.append(Document(document.location, document.title, sections, document.notes))
    if removed:
        notes.append(f"{removed} instruction-like passage(s) replaced; knowledge is reference data, not instructions")
    return cleaned, notes


def quoted_text(documents: Sequence[Document]) -> str:
    """The documents labelled with where they come from; the prompt wraps the whole in quotes (and ``neutralise``
    has already taken quote marks out of the text)."""
    return "\n\n".join(f"[{d.location}]\n{d.text().strip()}" for d in documents)


async def build(
    *,
    tenant_id: str,
    source: str,
    documents: list[Document],
    notes: list[str],
    chunker: Chunker,
    count: Callable[[str], int],
    embedder: Embedder,
    index: Index,
    current: str | None,
    progress: OnProgress,
) -> Built:
    progress(Progress(phase="extracting", detail=f"{len(documents)} document(s)"))
    chunks = await asyncio.to_thread(lambda: [c for d in documents for c in chunker.chunks(d)])
    if not chunks:
        raise SourceError(f"{source}: no text found to add")
    vectors = await _embed(embedder, chunks, progress)
    progress(Progress(phase="indexing", detail=f"{len(chunks)} chunks"))
    quoted = quoted_text(documents)
    tokens = await asyncio.to_thread(count, quoted)
    rows = _rows(source, chunks)
    name = table_name(tenant_id)

    def write() -> int:
        new = rows_table(rows, vectors)
        kept = index.read(current, without_source=source)
        data = new if kept is None or kept.num_rows == 0 else pa.concat_tables([kept, new.cast(kept.schema)])
        index.build(name, data)
        return int(data.num_rows)

    total = await asyncio.to_thread(write)
    return Built(name, len(chunks), total, quoted, tokens, len(documents), notes)


async def _embed(embedder: Embedder, chunks: list[Chunk], progress: OnProgress) -> Float32:
    texts = [f"{c.title}\n{c.heading}\n{c.text}" for c in chunks]
    parts = []
    for start in range(0, len(texts), _BATCH):
        progress(Progress(phase="embedding", done=start, total=len(texts)))
        parts.append(await embedder.embed(texts[start : start + _BATCH]))
    progress(Progress(phase="embedding", done=len(texts), total=len(texts)))
    return np.concatenate(parts).astype(np.float32)


def _rows(source: str, chunks: list[Chunk]) -> dict[str, list[Any]]:
    prefix = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()[:12]
    rows: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for i, chunk in enumerate(chunks):
        for name, value in zip(
            COLUMNS, (f"{prefix}-{i}", source, chunk.location, chunk.title, chunk.heading, chunk.text), strict=True
        ):
            rows[name].append(value)
    return rows
