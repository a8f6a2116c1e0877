"""The knowledge base's rows in the store: each tenant's sources and which LanceDB table is current."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from core.store import audit
from core.store.database import Store, utcnow

Mode = Literal["none", "inline", "retrieval"]


class SourceInfo(msgspec.Struct, kw_only=True):
    source: str
    kind: str
    status: Literal["ok", "stale"]
    pages: int
    chunks: int
    tokens: int
    notes: list[str]
    error: str | None
    added_at: str
    ingested_at: str
    failed_at: str | None


class TenantKnowledge(msgspec.Struct, kw_only=True):
    tenant_id: str
    table_name: str | None
    mode: Mode
    tokens: int
    chunks: int
    updated_at: str | None


class KnowledgeSummary(msgspec.Struct, kw_only=True):
    knowledge: TenantKnowledge
    sources: list[SourceInfo]


class SourceRecord(msgspec.Struct, kw_only=True):
    """What a successful ingest of one source leaves in the catalog."""

    source: str
    kind: str
    pages: int
    chunks: int
    tokens: int
    notes: list[str]
    quoted: str
    options: dict[str, Any]


class Catalog:
    def __init__(self, store: Store) -> None:
        self._store = store

    def sources(self, tenant_id: str) -> list[SourceInfo]:
        rows = self._store.dicts(
            "SELECT * EXCLUDE (quoted, options, tenant_id) FROM kb_sources WHERE tenant_id = ? "
            "ORDER BY added_at, source",
            [tenant_id],
        )
        return [
            SourceInfo(
                **{k: v for k, v in r.items() if not k.endswith("_at") and k != "notes"},
                notes=msgspec.json.decode(r["notes"]),
                added_at=_iso(r["added_at"]),
                ingested_at=_iso(r["ingested_at"]),
                failed_at=_iso(r["failed_at"]) if r["failed_at"] else None,
            )
            for r in rows
        ]

    def quoted(self, tenant_id: str) -> list[tuple[str, str, int]]:
        """Each source's quoted text and tokens, in the order they were added."""
        return [
            (r[0], r[1], int(r[2]))
            for r in self._store.rows(
                "SELECT source, quoted, tokens FROM kb_sources WHERE tenant_id = ? ORDER BY added_at, source",
                [tenant_id],
            )
        ]

    def knowledge(self, tenant_id: str) -> TenantKnowledge:
        found = self._store.dicts("SELECT * FROM kb_tenants WHERE tenant_id = ?", [tenant_id])
        if not found:
            return TenantKnowledge(
                tenant_id=tenant_id, table_name=None, mode="none", tokens=0, chunks=0, updated_at=None
            )
        r = found[0]
        return TenantKnowledge(**{**r, "updated_at": _iso(r["updated_at"])})

    def swap(
        self,
        tenant_id: str,
        *,
        table_name: str | None,
        mode: Mode,
        tokens: int,
        chunks: int,
        saved: SourceRecord | None,
        removed: str | None,
        actor: str,
    ) -> None:
        """Make a new table current, together with the source it was built for (added or removed)."""
        now = utcnow()
        with self._store.transaction():
            if saved is not None:
                self._store.execute(
                    "INSERT INTO kb_sources VALUES (?, ?, ?, 'ok', ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL) "
                    "ON CONFLICT (tenant_id, source) DO UPDATE SET kind = excluded.kind, status = 'ok', "
                    "pages = excluded.pages, chunks = excluded.chunks, tokens = excluded.tokens, "
                    "notes = excluded.notes, error = NULL, quoted = excluded.quoted, options = excluded.options, "
                    "ingested_at = excluded.ingested_at, failed_at = NULL",
                    [
                        tenant_id, saved.source, saved.kind, saved.pages, saved.chunks, saved.tokens,
                        msgspec.json.encode(saved.notes).decode(), saved.quoted,
                        msgspec.json.encode(saved.options).decode(), now, now,
                    ],
                )  # fmt: skip
            if removed is not None:
                self._store.execute("DELETE FROM kb_sources WHERE tenant_id = ? AND source = ?", [tenant_id, removed])
            self._store.execute(
                "INSERT INTO kb_tenants VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET "
                "table_name = excluded.table_name, mode = excluded.mode, tokens = excluded.tokens, "
                "chunks = excluded.chunks, updated_at = excluded.updated_at",
                [tenant_id, table_name, mode, tokens, chunks, now],
            )
            audit.record(
                self._store,
                tenant_id=tenant_id,
                actor=actor,
                action="kb.remove" if removed is not None else "kb.ingest",
                target=removed if removed is not None else (saved.source if saved else ""),
                detail={"mode": mode, "chunks": chunks, "tokens": tokens},
            )

    def mark_stale(self, tenant_id: str, source: str, error: str) -> bool:
        """Record a failed ingest of a source that had content before; False when it had none."""
        with self._store.transaction():
            known = self._store.scalar(
                "SELECT count(*) FROM kb_sources WHERE tenant_id = ? AND source = ?", [tenant_id, source]
            )
            if known:
                self._store.execute(
                    "UPDATE kb_sources SET status = 'stale', error = ?, failed_at = ? "
                    "WHERE tenant_id = ? AND source = ?",
                    [error, utcnow(), tenant_id, source],
                )
        return bool(known)

    def tables_in_use(self) -> set[str]:
        return {str(r[0]) for r in self._store.rows("SELECT table_name FROM kb_tenants WHERE table_name IS NOT NULL")}


def _iso(value: Any) -> str:
    return str(value.isoformat(timespec="seconds")) + "Z"
