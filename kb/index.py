"""LanceDB: one table per tenant (per version of its knowledge), with vectors and a full-text index.

A tenant's table is only ever reached through its own name, which the catalog holds; a new version is built
aside under a new name and made current by the catalog, so searches never see a half-built table.
"""

from __future__ import annotations

import logging
import re
import secrets
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

    def drop(self, name: str) -> None:
        self._open.pop(name, None)
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
        table = await self._table(name)
        query = table.query().nearest_to(np.asarray(vector, dtype=np.float32)).distance_type("cosine").limit(limit)
        rows = await query.select([*COLUMNS, "_distance"]).to_list()
        return [LegHit(r["id"], i, 1.0 - float(r["_distance"]), r) for i, r in enumerate(rows, start=1)]

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
