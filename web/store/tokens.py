"""Per-business API tokens. A token is shown once when created; the table keeps only its keyed hash."""

from __future__ import annotations

import secrets
from datetime import datetime

import msgspec

from core.errors import InputError, NotFoundError
from core.security.secrets import SecretBox
from core.store.database import Store, new_id, utcnow
from web.auth.policy import Role
from web.store.cache import TtlCache

PREFIX = "apl_"
_CACHE_S = 10.0


class TokenInfo(msgspec.Struct, kw_only=True):
    id: str
    name: str
    role: Role
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class TokenOwner(msgspec.Struct, kw_only=True):
    id: str
    tenant_id: str
    name: str
    role: Role


class ApiTokens:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box
        self._cache: TtlCache[TokenOwner | None] = TtlCache(_CACHE_S)

    def create(self, tenant_id: str, *, name: str, role: Role, created_by: str) -> tuple[str, TokenInfo]:
        if not name.strip() or len(name) > 80:
            raise InputError("a token needs a name of 1 to 80 characters")
        token = PREFIX + secrets.token_urlsafe(32)
        token_id = new_id("tok")
        now = utcnow()
        self._store.execute(
            "INSERT INTO api_tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            [token_id, tenant_id, name.strip(), role, self._box.digest(token), created_by, now],
        )
        return token, TokenInfo(
            id=token_id, name=name.strip(), role=role, created_by=created_by, created_at=now, revoked_at=None
        )

    def resolve(self, token: str) -> TokenOwner | None:
        """The token's business and role; looked up once every few seconds at most (scripts call in bursts)."""
        digest = self._box.digest(token)

        def load() -> TokenOwner | None:
            rows = self._store.dicts(
                "SELECT id, tenant_id, name, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                [digest],
            )
            return msgspec.convert(rows[0], TokenOwner) if rows else None

        return self._cache.get(digest, load)

    def list(self, tenant_id: str) -> list[TokenInfo]:
        rows = self._store.dicts(
            "SELECT id, name, role, created_by, created_at, revoked_at FROM api_tokens WHERE tenant_id = ? "
            "ORDER BY created_at DESC",
            [tenant_id],
        )
        return [msgspec.convert(r, TokenInfo) for r in rows]

    def revoke(self, tenant_id: str, token_id: str) -> None:
        if not self._store.scalar(
            "SELECT count(*) FROM api_tokens WHERE id = ? AND tenant_id = ? AND revoked_at IS NULL",
            [token_id, tenant_id],
        ):
            raise NotFoundError(f"no active token '{token_id}'")
        self._store.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [utcnow(), token_id])
        self._cache.drop()  # revoked means refused from the next request on, not in a few seconds
