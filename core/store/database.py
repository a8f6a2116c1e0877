"""The DuckDB file: opening it, migrating it, and running statements one at a time.

DuckDB lets one process write a database file at a time. Inside the process every statement goes through one
connection under a lock, each write committed before it returns, so a crash loses nothing already written.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ApplianceError

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StoreLockedError(ApplianceError):
    """Another process has the database file open for writing."""


def utcnow() -> datetime:
    """Now in UTC as a naive datetime, the form every TIMESTAMP column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id(prefix: str) -> str:
    """A short id that sorts by creation time: milliseconds since the epoch, then randomness."""
    return f"{prefix}_{int(time.time() * 1000):011x}{secrets.token_hex(4)}"


class Store:
    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path | None) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Store:
        # DuckDB is imported when a store opens, not with this module: the CLI reads rows the running server sends
        # (tenants, calls, sources) through the types defined next to the store, and needs no database for that.
        import duckdb

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLockedError(
                    f"the database {path} is in use by another appliance process; "
                    "stop it, or run this command while it is serving so it can be reached over its API"
                ) from None
            raise ApplianceError(f"cannot open the database {path}: {exc}") from None
        store = cls(connection, path)
        store.migrate()
        return store

    @classmethod
    def memory(cls) -> Store:
        import duckdb

        store = cls(duckdb.connect(":memory:"), None)
        store.migrate()
        return store

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def migrate(self) -> None:
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
            applied = {row[0] for row in self._db.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, name, sql in _migrations():
                if version in applied:
                    continue
                with self.transaction():
                    self._db.execute(sql)
                    self._db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utcnow()])
                log.info("applied store migration %s", name)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._lock:
            self._db.execute(sql, list(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._lock:
            self._db.executemany(sql, [list(row) for row in rows])

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, list(params)).fetchall()

    def dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(sql, list(params))
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = self.rows(sql, params)
        return found[0][0] if found else None


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("core.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)
