"""LanceDB: one table per tenant (per version of its knowledge), with vectors and a full-text index.

A tenant's table is only ever reached through its own name, which the catalog holds; a new version is built
aside under a new name and made current by the catalog, so searches never see a half-built table.

The BM25 leg is LanceDB's full-text index. The vector leg is an exact cosine search over the table's vectors,
read once per table version into memory: LanceDB's own flat scan grew with the table to half a second at
100,000 chunks, and its approximate indexes lost most of their recall on small tables, while a matrix product over
the same vectors stays near a millisecond (the README's knowledge-base section has the figures).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import FTS

from models.interfaces import Float32

log = logging.getLogger(__name__)

_TABLE = re.compile(r"^[a-z0-9][a-z0-9-]*__[0-9a-f]+$")
COLUMNS = ("id", "source", "location", "title", "heading", "text")


@dataclass(frozen=True, slots=True)
class _Vectors:
    matrix: Float32  # one unit-length row per chunk
    rows: pa.Table  # the chunks' other columns, in the same order


@dataclass(frozen=True, slots=True)
class LegHit:
    id: str
    rank: int  # 1 = best
    score: float  # BM25 score, or cosine similarity for the vector leg
    row: dict[str, Any]


def table_name(tenant_id: str) -> str:
    return f"{tenant_id}__{int(time.time() * 1000):011x}{secrets.token_hex(3)}"


def rows_table(rows: dict[str, list[Any]], vectors: Float32) -> pa.Table:
    dim = vectors.shape[1] if vectors.ndim == 2 else 0
    columns = {name: pa.array(rows[name], pa.string()) for name in COLUMNS}
    columns["body"] = pa.array(
        [f"{t}\n{h}\n{x}" for t, h, x in zip(rows["title"], rows["heading"], rows["text"], strict=True)]
    )
    columns["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel(), pa.float32()), dim)
    return pa.table(columns)


class Index:
    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._db = lancedb.connect(str(path.resolve()))
        self._async: lancedb.AsyncConnection | None = None
        self._open: dict[str, lancedb.AsyncTable] = {}
        self._vectors: dict[str, _Vectors] = {}
        self._loading = threading.Lock()

    # Building, in worker threads.

    def build(self, name: str, data: pa.Table) -> None:
        """Create table ``name`` with ``data`` and its full-text index; complete or not there at all."""
        try:
            table = self._db.create_table(name, data)
            table.create_index("body", config=FTS(), replace=True)
        except BaseException:
            self.drop(name)
            raise

    def read(self, name: str | None, *, without_source: str | None = None) -> pa.Table | None:
        """Every row of a table (vectors included), less one source's."""
        if name is None or name not in self.names():
            return None
        table = self._db.open_table(name)
        data = table.to_arrow()
        if without_source is not None:
            data = data.filter(pa.compute.not_equal(data["source"], without_source))
        return data.select([*COLUMNS, "body", "vector"])

    def load(self, name: str) -> None:
        """Read a table's vectors into memory for the vector leg (once per table version)."""
        with self._loading:
            if name in self._vectors:
                return
            data = self._db.open_table(name).to_arrow()
            column = data["vector"].combine_chunks()
            dim = column.type.list_size
            matrix = column.values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(column), dim)
            self._vectors[name] = _Vectors(matrix, data.select(list(COLUMNS)))

    def drop(self, name: str) -> None:
        self._open.pop(name, None)
        self._vectors.pop(name, None)
        if name in self.names():
            self._db.drop_table(name)

    def names(self) -> set[str]:
        found: set[str] = set()
        token: str | None = None
        while True:
            page = self._db.list_tables(page_token=token)
            found.update(n for n in page.tables if _TABLE.match(n))
            token = page.page_token
            if not token:
                return found

    # Searching, on the event loop (LanceDB's own async engine).

    async def vector_leg(self, name: str, vector: Float32, limit: int) -> list[LegHit]:
        if name not in self._vectors:
            await asyncio.to_thread(self.load, name)
        return await asyncio.to_thread(self._nearest, self._vectors[name], np.asarray(vector, dtype=np.float32), limit)

    @staticmethod
    def _nearest(vectors: _Vectors, vector: Float32, limit: int) -> list[LegHit]:
        # einsum, not BLAS: a multi-threaded BLAS call on a busy two-core box was ten times slower.
        scores = np.einsum("ij,j->i", vectors.matrix, vector)
        limit = min(limit, len(scores))
        if limit <= 0:
            return []
        best = np.argpartition(-scores, limit - 1)[:limit]
        best = best[np.argsort(-scores[best], kind="stable")]
        hits = []
        for rank, i in enumerate(best.tolist(), start=1):
            row = vectors.rows.slice(i, 1).to_pylist()[0]
            row["vector"] = vectors.matrix[i]
            hits.append(LegHit(row["id"], rank, float(scores[i]), row))
        return hits

    async def text_leg(self, name: str, text: str, limit: int) -> list[LegHit]:
        if not text.strip():
            return []
        table = await self._table(name)
        query = table.query().nearest_to_text(text).limit(limit)
        rows = await query.select([*COLUMNS, "vector", "_score"]).to_list()
        return [LegHit(r["id"], i, float(r["_score"]), r) for i, r in enumerate(rows, start=1)]

    async def _table(self, name: str) -> lancedb.AsyncTable:
        table = self._open.get(name)
        if table is None:
            if self._async is None:
                self._async = await lancedb.connect_async(str(self._path.resolve()))
            table = await self._async.open_table(name)
            self._open[name] = table
        return table
