"""Per-business API tokens. A token is shown once when created; the table keeps only its keyed hash.

A token remembers the person it acts for (``creator_user``: whoever made it, or the person behind the token that
made it; none for the CLI), so that on every request it is worth no more than that person's role in the business
at that moment (``web.auth.identity``). Revoking a token revokes the tokens it made."""

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
    role: Role  # the role it was made with; its creator's current role may cap it
    created_by: str
    creator_user: str | None  # None: made by the CLI (installer everywhere), so nothing caps it


class ApiTokens:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box
        self._cache: TtlCache[TokenOwner | None] = TtlCache(_CACHE_S)

    def create(
        self,
        tenant_id: str,
        *,
        name: str,
        role: Role,
        created_by: str,
        creator_user: str | None,
        parent_token: str | None = None,
    ) -> tuple[str, TokenInfo]:
        if not name.strip() or len(name) > 80:
            raise InputError("a token needs a name of 1 to 80 characters")
        token = PREFIX + secrets.token_urlsafe(32)
        token_id = new_id("tok")
        now = utcnow()
        self._store.execute(
            "INSERT INTO api_tokens (id, tenant_id, name, role, token_hash, created_by, created_at, revoked_at, "
            "creator_user, parent_token) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            [token_id, tenant_id, name.strip(), role, self._box.digest(token), created_by, now, creator_user,
             parent_token],
        )  # fmt: skip
        return token, TokenInfo(
            id=token_id, name=name.strip(), role=role, created_by=created_by, created_at=now, revoked_at=None
        )

    def resolve(self, token: str) -> TokenOwner | None:
        """The token's business and role; looked up once every few seconds at most (scripts call in bursts)."""
        digest = self._box.digest(token)

        def load() -> TokenOwner | None:
            rows = self._store.dicts(
                "SELECT id, tenant_id, name, role, created_by, creator_user FROM api_tokens "
                "WHERE token_hash = ? AND revoked_at IS NULL",
                [digest],
            )
            return msgspec.convert(rows[0], TokenOwner) if rows else None

        return self._cache.get(digest, load)

    def by_id(self, token_id: str) -> TokenOwner | None:
        """An unrevoked token by its id (uncached: for long-lived connections that check again)."""
        rows = self._store.dicts(
            "SELECT id, tenant_id, name, role, created_by, creator_user FROM api_tokens "
            "WHERE id = ? AND revoked_at IS NULL",
            [token_id],
        )
        return msgspec.convert(rows[0], TokenOwner) if rows else None

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
        self._revoke_descendants()
        self._cache.drop()  # revoked means refused from the next request on, not in a few seconds

    def revoke_made_by(self, user_id: str, tenant_id: str | None = None) -> int:
        """Revoke the tokens a person made (in one business, or in all), and the tokens those made; how many."""
        where = "revoked_at IS NULL AND creator_user = ?" + (" AND tenant_id = ?" if tenant_id else "")
        params = [user_id, tenant_id] if tenant_id else [user_id]
        count = int(self._store.scalar(f"SELECT count(*) FROM api_tokens WHERE {where}", params))
        if count:
            self._store.execute(f"UPDATE api_tokens SET revoked_at = ? WHERE {where}", [utcnow(), *params])
            count += self._revoke_descendants()
            self._cache.drop()
        return count

    def _revoke_descendants(self) -> int:
        orphans = "revoked_at IS NULL AND parent_token IN (SELECT id FROM api_tokens WHERE revoked_at IS NOT NULL)"
        total = 0
        while found := int(self._store.scalar(f"SELECT count(*) FROM api_tokens WHERE {orphans}")):
            self._store.execute(f"UPDATE api_tokens SET revoked_at = ? WHERE {orphans}", [utcnow()])
            total += found
        return total
