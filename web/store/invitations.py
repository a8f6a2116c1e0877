"""Invitations: an account is shared by every business it belongs to, so a business adds an existing account only
when its holder accepts. Accepting needs the code the inviting owner was shown once: someone who made the account
in advance under another person's address (and so knows its password) cannot accept on that person's behalf."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import msgspec

from core.errors import InputError, NotFoundError
from core.security.secrets import SecretBox
from core.store.database import Store, new_id, utcnow
from web.auth.policy import Role

LIFETIME = timedelta(days=7)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


class Invitation(msgspec.Struct, kw_only=True):
    id: str
    tenant_id: str
    user_id: str
    email: str
    role: Role
    invited_by: str
    created_at: datetime
    expires_at: datetime


def _code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _normal(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


_SELECT = (
    "SELECT i.id, i.tenant_id, i.user_id, u.email, i.role, i.invited_by, i.created_at, i.expires_at "
    "FROM invitations i JOIN users u ON u.id = i.user_id "
)


class Invitations:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box

    def create(self, tenant_id: str, user_id: str, role: Role, invited_by: str) -> tuple[Invitation, str]:
        """A pending invitation (replacing any earlier one for the same person and business) and its code, which
        is shown this once."""
        code = _code()
        now = utcnow()
        invitation_id = new_id("inv")
        with self._store.transaction():
            self._store.execute("DELETE FROM invitations WHERE tenant_id = ? AND user_id = ?", [tenant_id, user_id])
            self._store.execute(
                "INSERT INTO invitations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [invitation_id, tenant_id, user_id, role, self._box.digest(_normal(code)), invited_by, now,
                 now + LIFETIME],
            )  # fmt: skip
        return self.get(invitation_id), code

    def get(self, invitation_id: str) -> Invitation:
        rows = self._store.dicts(_SELECT + "WHERE i.id = ? AND i.expires_at > ?", [invitation_id, utcnow()])
        if not rows:
            raise NotFoundError(f"no pending invitation '{invitation_id}' (it may have expired or been withdrawn)")
        return msgspec.convert(rows[0], Invitation)

    def of_tenant(self, tenant_id: str) -> list[Invitation]:
        rows = self._store.dicts(
            _SELECT + "WHERE i.tenant_id = ? AND i.expires_at > ? ORDER BY i.created_at", [tenant_id, utcnow()]
        )
        return [msgspec.convert(r, Invitation) for r in rows]

    def of_user(self, user_id: str) -> list[Invitation]:
        rows = self._store.dicts(
            _SELECT + "WHERE i.user_id = ? AND i.expires_at > ? ORDER BY i.created_at", [user_id, utcnow()]
        )
        return [msgspec.convert(r, Invitation) for r in rows]

    def code_matches(self, invitation: Invitation, code: str) -> bool:
        stored = self._store.scalar("SELECT code_hash FROM invitations WHERE id = ?", [invitation.id])
        return stored is not None and secrets.compare_digest(str(stored), self._box.digest(_normal(code)))

    def remove(self, invitation_id: str) -> None:
        self._store.execute("DELETE FROM invitations WHERE id = ?", [invitation_id])

    def withdraw(self, tenant_id: str, invitation_id: str) -> Invitation:
        invitation = self.get(invitation_id)
        if invitation.tenant_id != tenant_id:
            raise NotFoundError(f"no pending invitation '{invitation_id}' in this business")
        self.remove(invitation_id)
        return invitation


def check_code_given(code: str) -> None:
    if not _normal(code):
        raise InputError("enter the invitation code the business gave you")
