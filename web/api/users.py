"""A business's users and roles, and its API tokens."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, post, put

from core.errors import InputError
from web.api.paths import TENANT
from web.auth.policy import Permission, Role, grantable_roles
from web.scope import TenantScope
from web.store.accounts import Member, check_role
from web.store.tokens import TokenInfo


class NewUser(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Add a person: a new account (give a name and a first password) or an existing one (email only)."""

    email: str
    role: Role
    name: str = ""
    password: str = ""
    phone: str = ""


class RoleChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Role


class NewToken(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    role: Role = "agent"


class CreatedToken(msgspec.Struct, kw_only=True):
    token: str  # shown this once
    info: TokenInfo


def _check_grant(view: TenantScope, role: str) -> Role:
    checked = check_role(role)
    if checked not in grantable_roles(view.role):
        raise InputError(f"you cannot give the role {checked}; you can give: {', '.join(grantable_roles(view.role))}")
    return checked


class UserController(Controller):
    path = f"{TENANT}/users"
    tags = ["users"]

    @get("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def list_users(self, view: TenantScope) -> list[Member]:
        return view.web.accounts.members(view.tenant_id)

    @post("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def add_user(self, view: TenantScope, data: NewUser) -> Member:
        role = _check_grant(view, data.role)
        accounts = view.web.accounts
        user_id = accounts.find(data.email)
        if user_id is None:
            if not data.name.strip() or not data.password:
                raise InputError("a new account needs a name and a first password")
            user_id = accounts.create(email=data.email, name=data.name, password=data.password, phone=data.phone)
        accounts.grant(user_id, view.tenant_id, role)
        view.audit("user.grant", user_id, {"email": data.email.strip().lower(), "role": role})
        return accounts.member(view.tenant_id, user_id)

    @put("/{user_id:str}", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def change_role(self, view: TenantScope, user_id: str, data: RoleChange) -> Member:
        accounts = view.web.accounts
        member = accounts.member(view.tenant_id, user_id)
        role = _check_grant(view, data.role)
        if member.role not in grantable_roles(view.role):
            raise InputError(f"you cannot change the role of a {member.role}")
        if (
            member.role in ("owner", "installer")
            and role not in ("owner", "installer")
            and accounts.owners(view.tenant_id) <= 1
        ):
            raise InputError("the business must keep at least one owner")
        accounts.grant(user_id, view.tenant_id, role)
        view.web.sessions.end_for_user(user_id)
        view.audit("user.role", user_id, {"from": member.role, "to": role})
        return accounts.member(view.tenant_id, user_id)

    @delete("/{user_id:str}", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def remove_user(self, view: TenantScope, user_id: str) -> None:
        accounts = view.web.accounts
        member = accounts.member(view.tenant_id, user_id)
        if member.role not in grantable_roles(view.role):
            raise InputError(f"you cannot remove a {member.role}")
        if member.role in ("owner", "installer") and accounts.owners(view.tenant_id) <= 1:
            raise InputError("the business must keep at least one owner")
        accounts.revoke(user_id, view.tenant_id)
        view.web.sessions.end_for_user(user_id)
        view.audit("user.revoke", user_id, {"email": member.email, "role": member.role})


class TokenController(Controller):
    path = f"{TENANT}/tokens"
    tags = ["users"]

    @get("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def list_tokens(self, view: TenantScope) -> list[TokenInfo]:
        return view.web.tokens.list(view.tenant_id)

    @post("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def create_token(self, view: TenantScope, data: NewToken) -> CreatedToken:
        role = _check_grant(view, data.role)
        token, info = view.web.tokens.create(view.tenant_id, name=data.name, role=role, created_by=view.principal.actor)
        view.audit("token.create", info.id, {"name": info.name, "role": role})
        return CreatedToken(token=token, info=info)

    @delete("/{token_id:str}", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def revoke_token(self, view: TenantScope, token_id: str) -> None:
        view.web.tokens.revoke(view.tenant_id, token_id)
        view.audit("token.revoke", token_id)
