"""Signed-in sessions. The cookie holds a random id; the table holds only its keyed hash, so reading the
database does not let anyone take over a session. Lookups are cached briefly: every page and API call needs one."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from appliance.security.secrets import SecretBox
from appliance.store.database import Store, utcnow

_CACHE_S = 30.0


@dataclass(frozen=True, slots=True)
class SessionRow:
    user_id: str
    csrf: str
    id_hash: str


class Sessions:
    def __init__(self, store: Store, box: SecretBox, lifetime: timedelta) -> None:
        self._store = store
        self._box = box
        self.lifetime = lifetime
        self._cache: dict[str, tuple[float, SessionRow | None]] = {}
        self._lock = threading.Lock()

    def create(self, user_id: str, *, address: str | None, user_agent: str | None) -> tuple[str, SessionRow]:
        """A new session; returns the cookie value (never stored) and the row."""
        token = secrets.token_urlsafe(32)
        row = SessionRow(user_id=user_id, csrf=secrets.token_urlsafe(24), id_hash=self._box.digest(token))
        now = utcnow()
        self._store.execute(
            "INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
            [row.id_hash, user_id, row.csrf, now, now + self.lifetime, address, (user_agent or "")[:300]],
        )
        return token, row

    def lookup(self, token: str) -> SessionRow | None:
        id_hash = self._box.digest(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(id_hash)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = self._store.rows(
            "SELECT s.user_id, s.csrf FROM web_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.id_hash = ? AND s.expires_at > ? AND NOT u.disabled",
            [id_hash, utcnow()],
        )
        row = SessionRow(user_id=found[0][0], csrf=found[0][1], id_hash=id_hash) if found else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[id_hash] = (now + _CACHE_S, row)
        return row

    def end(self, id_hash: str) -> None:
        self._store.execute("DELETE FROM web_sessions WHERE id_hash = ?", [id_hash])
        with self._lock:
            self._cache.pop(id_hash, None)

    def end_for_user(self, user_id: str) -> None:
        """Sign a user out everywhere (their access changed)."""
        self._store.execute("DELETE FROM web_sessions WHERE user_id = ?", [user_id])
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v[1] is None or v[1].user_id != user_id}

    def purge_expired(self) -> int:
        expired = int(self._store.scalar("SELECT count(*) FROM web_sessions WHERE expires_at <= ?", [utcnow()]))
        if expired:
            self._store.execute("DELETE FROM web_sessions WHERE expires_at <= ?", [utcnow()])
        return expired
