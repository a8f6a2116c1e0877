"""Password resets an owner starts for a member: the old password stops working at once, and a one-time link,
shown once to the owner to hand over, lets the member choose a new one. The table keeps only the link's keyed
hash."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from core.security.secrets import SecretBox
from core.store.database import Store, utcnow

LIFETIME = timedelta(hours=24)
# Not an argon2 hash, so no password verifies against it (``verify_password`` treats it as a mismatch).
UNUSABLE = "!reset"


class PasswordResets:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box

    def start(self, user_id: str, *, tenant_id: str | None, created_by: str) -> tuple[str, datetime]:
        """Locks the password and returns the one-time token (never stored) and when it expires. An earlier
        unused link for the same user stops working."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + LIFETIME
        with self._store.transaction():
            self._store.execute("UPDATE users SET password_hash = ? WHERE id = ?", [UNUSABLE, user_id])
            self._store.execute("DELETE FROM password_resets WHERE user_id = ?", [user_id])
            self._store.execute(
                "INSERT INTO password_resets VALUES (?, ?, ?, ?, ?, ?)",
                [self._box.digest(token), user_id, tenant_id, created_by, now, expires],
            )
        return token, expires

    def user_for(self, token: str) -> str | None:
        """The user a live reset token is for, or None."""
        found = self._store.scalar(
            "SELECT user_id FROM password_resets WHERE token_hash = ? AND expires_at > ?",
            [self._box.digest(token), utcnow()],
        )
        return None if found is None else str(found)

    def used(self, token: str) -> None:
        self._store.execute("DELETE FROM password_resets WHERE token_hash = ?", [self._box.digest(token)])

    def purge_expired(self) -> None:
        self._store.execute("DELETE FROM password_resets WHERE expires_at <= ?", [utcnow()])
