"""Signed-in sessions. The cookie holds a random id; the table holds only its keyed hash, so reading the
database does not let anyone take over a session. Lookups are cached briefly: every page and API call needs one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from core.security.secrets import SecretBox
from core.store.database import Store, utcnow
from web.store.cache import TtlCache

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
        self._cache: TtlCache[SessionRow | None] = TtlCache(_CACHE_S)

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

        def load() -> SessionRow | None:
            found = self._store.rows(
                "SELECT s.user_id, s.csrf FROM web_sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.id_hash = ? AND s.expires_at > ? AND NOT u.disabled",
                [id_hash, utcnow()],
            )
            return SessionRow(user_id=found[0][0], csrf=found[0][1], id_hash=id_hash) if found else None

        return self._cache.get(id_hash, load)

    def end(self, id_hash: str) -> None:
        self._store.execute("DELETE FROM web_sessions WHERE id_hash = ?", [id_hash])
        self._cache.pop(id_hash)

    def end_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        """Sign a user out everywhere (their access or password changed), but for the session ``keep`` (an id
        hash: the one that changed their own password). Returns how many sessions ended."""
        where, params = "user_id = ? AND id_hash <> ?", [user_id, keep or ""]
        ended = int(self._store.scalar(f"SELECT count(*) FROM web_sessions WHERE {where}", params))
        self._store.execute(f"DELETE FROM web_sessions WHERE {where}", params)
        self._cache.drop(keep=lambda row: row is None or row.user_id != user_id or row.id_hash == keep)
        return ended

    def alive(self, id_hash: str) -> bool:
        """Whether a session still exists (uncached: for long-lived connections that check again)."""
        return bool(
            self._store.scalar(
                "SELECT count(*) FROM web_sessions WHERE id_hash = ? AND expires_at > ?", [id_hash, utcnow()]
            )
        )

    def purge_expired(self) -> int:
        expired = int(self._store.scalar("SELECT count(*) FROM web_sessions WHERE expires_at <= ?", [utcnow()]))
        if expired:
            self._store.execute("DELETE FROM web_sessions WHERE expires_at <= ?", [utcnow()])
        return expired
