"""The access policy, in one table: which role may do what. Every route names the permission it needs
(``opt={"permission": ...}``); ``web.auth.access`` checks it, and nothing else decides access."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Role = Literal["agent", "supervisor", "owner", "installer"]
ROLES: tuple[Role, ...] = ("agent", "supervisor", "owner", "installer")
_RANK = {role: i for i, role in enumerate(ROLES)}


class Permission(StrEnum):
    # read the business's day-to-day work
    CALLS_READ = "calls.read"
    BOOKINGS_READ = "bookings.read"
    LEADS_READ = "leads.read"
    DASHBOARD_READ = "dashboard.read"
    # act on it
    CALLS_CONTROL = "calls.control"  # take over or end a live call
    CALLS_TEST = "calls.test"  # call the assistant from the browser, simulate a call
    BOOKINGS_WRITE = "bookings.write"
    LEADS_WRITE = "leads.write"
    KNOWLEDGE_READ = "knowledge.read"
    KNOWLEDGE_WRITE = "knowledge.write"
    # configure the business
    ASSISTANT_READ = "assistant.read"
    ASSISTANT_WRITE = "assistant.write"
    SETTINGS_READ = "settings.read"
    SETTINGS_WRITE = "settings.write"  # trunk and its secrets, numbers, notifications, webhooks, retention
    USERS_MANAGE = "users.manage"  # users, roles and API tokens
    AUDIT_READ = "audit.read"
    TENANT_READ = "tenant.read"
    TENANT_WRITE = "tenant.write"
    CALLERS_ERASE = "callers.erase"  # a data-subject request: delete everything about one caller's number


MINIMUM_ROLE: dict[Permission, Role] = {
    Permission.CALLS_READ: "agent",
    Permission.BOOKINGS_READ: "agent",
    Permission.LEADS_READ: "agent",
    Permission.DASHBOARD_READ: "agent",
    Permission.TENANT_READ: "agent",
    Permission.CALLS_CONTROL: "supervisor",
    Permission.CALLS_TEST: "supervisor",
    Permission.BOOKINGS_WRITE: "supervisor",
    Permission.LEADS_WRITE: "supervisor",
    Permission.KNOWLEDGE_READ: "supervisor",
    Permission.KNOWLEDGE_WRITE: "supervisor",
    Permission.ASSISTANT_READ: "owner",
    Permission.ASSISTANT_WRITE: "owner",
    Permission.SETTINGS_READ: "owner",
    Permission.SETTINGS_WRITE: "owner",
    Permission.USERS_MANAGE: "owner",
    Permission.AUDIT_READ: "owner",
    Permission.TENANT_WRITE: "owner",
    Permission.CALLERS_ERASE: "owner",
}


def role_allows(role: Role | None, permission: Permission) -> bool:
    return role is not None and _RANK[role] >= _RANK[MINIMUM_ROLE[permission]]


def lower_role(a: Role | None, b: Role | None) -> Role | None:
    """The lesser of two roles; None (no role) when either is None."""
    if a is None or b is None:
        return None
    return a if _RANK[a] <= _RANK[b] else b


def grantable_roles(role: Role | None) -> list[Role]:
    """The roles someone with ``role`` may give to others: their own and below."""
    return [] if role is None else [r for r in ROLES if _RANK[r] <= _RANK[role]]


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever is asking: a signed-in user, a business's API token, or the local CLI."""

    kind: Literal["user", "token", "cli"]
    id: str
    name: str
    roles: dict[str, Role] = field(default_factory=dict)  # tenant id -> role
    everywhere: bool = False  # the CLI's token: installer on every business of this box
    installer: bool = False  # may add businesses
    csrf: str | None = None  # the session's CSRF token (cookie sessions only)
    session: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return {"user": f"user:{self.name}", "token": f"token:{self.name}", "cli": "cli"}[self.kind]

    def role_in(self, tenant_id: str) -> Role | None:
        if self.everywhere:
            return "installer"
        return self.roles.get(tenant_id)

    def may(self, permission: Permission, tenant_id: str) -> bool:
        return role_allows(self.role_in(tenant_id), permission)

    @property
    def may_add_businesses(self) -> bool:
        return self.everywhere or self.installer
