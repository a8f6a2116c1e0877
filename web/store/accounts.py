"""Staff accounts and their role in each business."""

from __future__ import annotations

import re

import msgspec

from core.errors import InputError, NotFoundError
from core.store.database import Store, new_id, utcnow
from web.auth.passwords import hash_password, needs_rehash, verify_password
from web.auth.policy import ROLES, Role

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


class Account(msgspec.Struct, kw_only=True):
    id: str
    email: str
    name: str
    phone: str | None
    installer: bool
    disabled: bool
    roles: dict[str, Role]


class Member(msgspec.Struct, kw_only=True):
    """A user as a business sees them: their role there."""

    id: str
    email: str
    name: str
    phone: str | None
    role: Role
    disabled: bool


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InputError(f"'{email}' is not an email address")
    return email


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}")
    return role


class Accounts:
    def __init__(self, store: Store) -> None:
        self._store = store

    def count(self) -> int:
        return int(self._store.scalar("SELECT count(*) FROM users"))

    def create(self, *, email: str, name: str, password: str, phone: str | None = None, installer: bool = False) -> str:
        email = normalise_email(email)
        if not name.strip():
            raise InputError("the name is empty")
        password_hash = hash_password(password)
        with self._store.transaction():
            if self._store.scalar("SELECT count(*) FROM users WHERE email = ?", [email]):
                raise InputError(f"there is already an account for {email}")
            user_id = new_id("user")
            self._store.execute(
                "INSERT INTO users (id, email, name, password_hash, phone, installer, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [user_id, email, name.strip(), password_hash, phone or None, installer, utcnow()],
            )
        return user_id

    def authenticate(self, email: str, password: str) -> Account | None:
        """The account, if the password is right and the account enabled; otherwise None (same time either way)."""
        email = email.strip().lower()
        row = self._store.rows("SELECT id, password_hash, disabled FROM users WHERE email = ?", [email])
        stored = row[0][1] if row else None
        if not verify_password(stored, password) or not row or row[0][2]:
            return None
        user_id = row[0][0]
        if needs_rehash(row[0][1]):
            self._store.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hash_password(password), user_id])
        self._store.execute("UPDATE users SET last_login_at = ? WHERE id = ?", [utcnow(), user_id])
        return self.get(user_id)

    def get(self, user_id: str) -> Account:
        rows = self._store.dicts(
            "SELECT id, email, name, phone, installer, disabled FROM users WHERE id = ?", [user_id]
        )
        if not rows:
            raise NotFoundError(f"no user '{user_id}'")
        roles = dict(self._store.rows("SELECT tenant_id, role FROM memberships WHERE user_id = ?", [user_id]))
        return Account(**rows[0], roles=roles)

    def role_of(self, user_id: str, tenant_id: str) -> Role | None:
        """The enabled user's role in a business now (None: no role there, or the account is disabled)."""
        found = self._store.scalar(
            "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id "
            "WHERE m.user_id = ? AND m.tenant_id = ? AND NOT u.disabled",
            [user_id, tenant_id],
        )
        return None if found is None else check_role(str(found))

    def check_password(self, user_id: str, password: str) -> bool:
        stored = self._store.scalar("SELECT password_hash FROM users WHERE id = ?", [user_id])
        return verify_password(None if stored is None else str(stored), password)

    def set_password(self, user_id: str, password: str) -> None:
        self._store.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hash_password(password), user_id])

    def find(self, email: str) -> str | None:
        found = self._store.scalar("SELECT id FROM users WHERE email = ?", [normalise_email(email)])
        return None if found is None else str(found)

    def grant(self, user_id: str, tenant_id: str, role: Role) -> None:
        self._store.execute(
            "INSERT INTO memberships VALUES (?, ?, ?, ?) ON CONFLICT (user_id, tenant_id) "
            "DO UPDATE SET role = excluded.role",
            [user_id, tenant_id, check_role(role), utcnow()],
        )

    def revoke(self, user_id: str, tenant_id: str) -> None:
        self._store.execute("DELETE FROM memberships WHERE user_id = ? AND tenant_id = ?", [user_id, tenant_id])

    def members(self, tenant_id: str) -> list[Member]:
        rows = self._store.dicts(
            "SELECT u.id, u.email, u.name, u.phone, m.role, u.disabled FROM memberships m "
            "JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ? ORDER BY u.name",
            [tenant_id],
        )
        return [msgspec.convert(r, Member) for r in rows]

    def member(self, tenant_id: str, user_id: str) -> Member:
        for member in self.members(tenant_id):
            if member.id == user_id:
                return member
        raise NotFoundError(f"no user '{user_id}' in this business")

    def owners(self, tenant_id: str) -> int:
        return int(
            self._store.scalar(
                "SELECT count(*) FROM memberships WHERE tenant_id = ? AND role IN ('owner', 'installer')", [tenant_id]
            )
        )
