"""A business's users and roles, its invitations, password resets for its members, and its API tokens.

An account can belong to several businesses, so what one business's owner does to a person never reaches past
that business: an existing account joins only by accepting an invitation (or by an installer's direct grant), a
removal or a demotion changes only this business's role (read again on every request), and a password reset is
refused for someone who also belongs to a business the resetting person does not manage."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import PermissionDeniedException

from core.errors import InputError
from web.api.paths import TENANT
from web.auth import cookies
from web.auth.policy import Permission, Role, grantable_roles
from web.context import WebContext
from web.scope import TenantScope
from web.store.accounts import Member, check_role, normalise_email
from web.store.invitations import Invitation
from web.store.tokens import TokenInfo

log = logging.getLogger("appliance.web.users")


class NewUser(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Add a person. A new address gets an account (give a name and a first password); an address that already
    has an account is invited (the name and password are not used), unless an installer grants it directly."""

    email: str
    role: Role
    name: str = ""
    password: str = ""
    phone: str = ""
    direct: bool = False  # installers only: add an existing account at once, without an invitation


class AddedUser(msgspec.Struct, kw_only=True):
    outcome: Literal["added", "granted", "invited"]
    member: Member | None = None  # added or granted: the person as a member now
    invitation: Invitation | None = None  # invited: the pending invitation
    code: str | None = None  # invited: the code the person accepts with, shown this once
    notice: str | None = None  # invited: what to tell the person, with the code


class RoleChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Role


class ResetLink(msgspec.Struct, kw_only=True):
    url: str  # the one-time page where the member chooses a new password; shown this once
    path: str  # the same, without the address this request came to
    expires_at: datetime
    notice: str


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


def _manageable(view: TenantScope, user_id: str, doing: str) -> Member:
    member = view.web.accounts.member(view.tenant_id, user_id)
    if member.role not in grantable_roles(view.role):
        raise InputError(f"you cannot {doing} a {member.role}")
    return member


def _reset_refusal(view: TenantScope, user_id: str) -> str | None:
    """Why the principal may not reset this member's password, or None. A password opens every business the
    account belongs to, so resetting it is allowed only to someone who could manage the person in each of them."""
    if view.principal.kind == "user" and view.principal.id == user_id:
        return "to change your own password, use Your account (it needs your current password)"
    account = view.web.accounts.get(user_id)
    if account.installer and not view.principal.may_add_businesses:
        return f"{account.email} is an installer; only an installer can reset their password"
    for tenant_id, role in account.roles.items():
        if role not in grantable_roles(view.principal.role_in(tenant_id)) or not view.principal.may(
            Permission.USERS_MANAGE, tenant_id
        ):
            return (
                f"{account.email} also belongs to another business that you do not manage, so their password is "
                "not yours to reset: they can change it themselves, or an installer can reset it"
            )
    return None


def _site(request: Request[Any, Any, Any], web: WebContext) -> str:
    """This site's address as the browser sees it (https when a trusted proxy says so)."""
    scheme = "https" if cookies.is_secure(request, web.runtime.settings.web) else request.url.scheme
    return f"{scheme}://{request.headers.get('host') or request.url.netloc}"


class UserController(Controller):
    path = f"{TENANT}/users"
    tags = ["users"]

    @get("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def list_users(self, view: TenantScope) -> list[Member]:
        return view.web.accounts.members(view.tenant_id)

    @post("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def add_user(self, view: TenantScope, data: NewUser) -> AddedUser:
        """A new address gets an account and the role at once. An existing account is invited: it joins when
        its holder signs in and accepts with the code returned here (shown once), so no one is added to a
        business, or handed to one, without knowing it. Installers may grant an existing account directly."""
        role = _check_grant(view, data.role)
        accounts = view.web.accounts
        email = normalise_email(data.email)
        user_id = accounts.find(email)
        if user_id is None:
            if data.direct:
                raise InputError(f"there is no account for {email} to add directly; give a name and first password")
            if not data.name.strip() or not data.password:
                raise InputError("a new account needs a name and a first password")
            user_id = accounts.create(email=email, name=data.name, password=data.password, phone=data.phone)
            accounts.grant(user_id, view.tenant_id, role)
            view.audit("user.grant", user_id, {"email": email, "role": role, "new_account": True})
            return AddedUser(outcome="added", member=accounts.member(view.tenant_id, user_id))
        if view.tenant_id in accounts.get(user_id).roles:
            raise InputError(f"{email} is already a member of this business; change their role instead")
        if data.direct:
            if view.role != "installer":
                raise PermissionDeniedException(
                    "only an installer can add an existing account directly; without 'direct' it is an invitation"
                )
            accounts.grant(user_id, view.tenant_id, role)
            view.audit("user.grant", user_id, {"email": email, "role": role, "direct": True})
            log.info("%s added the existing account %s to %s as %s", view.principal.actor, email, view.tenant_id, role)
            return AddedUser(outcome="granted", member=accounts.member(view.tenant_id, user_id))
        invitation, code = view.web.invitations.create(view.tenant_id, user_id, role, view.principal.actor)
        view.audit("user.invite", user_id, {"email": email, "role": role, "invitation": invitation.id})
        log.info("%s invited the existing account %s to %s as %s", view.principal.actor, email, view.tenant_id, role)
        ignored = " The name and password you gave were not used." if data.name.strip() or data.password else ""
        notice = (
            f"{email} already has an account, so they were invited as {role} rather than added. They accept "
            f"after signing in with their own password, by entering this code, shown once: {code} (valid 7 days)."
            f"{ignored} If {email} says they never made an account, withdraw the invitation and ask your installer."
        )
        return AddedUser(outcome="invited", invitation=invitation, code=code, notice=notice)

    @put("/{user_id:str}", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def change_role(self, view: TenantScope, user_id: str, data: RoleChange) -> Member:
        """Takes effect on the person's next request, and caps every API token they made here."""
        accounts = view.web.accounts
        member = _manageable(view, user_id, "change the role of")
        role = _check_grant(view, data.role)
        if (
            member.role in ("owner", "installer")
            and role not in ("owner", "installer")
            and accounts.owners(view.tenant_id) <= 1
        ):
            raise InputError("the business must keep at least one owner")
        accounts.grant(user_id, view.tenant_id, role)
        view.audit("user.role", user_id, {"from": member.role, "to": role})
        log.info(
            "%s changed %s's role in %s: %s -> %s",
            view.principal.actor,
            member.email,
            view.tenant_id,
            member.role,
            role,
        )
        return accounts.member(view.tenant_id, user_id)

    @delete("/{user_id:str}", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def remove_user(self, view: TenantScope, user_id: str) -> None:
        """Ends the person's access to this business at once (open live feeds close within seconds) and revokes
        the API tokens they made here. Someone left with no business at all is signed out everywhere."""
        web = view.web
        member = _manageable(view, user_id, "remove")
        if member.role in ("owner", "installer") and web.accounts.owners(view.tenant_id) <= 1:
            raise InputError("the business must keep at least one owner")
        web.accounts.revoke(user_id, view.tenant_id)
        tokens = web.tokens.revoke_made_by(user_id, view.tenant_id)
        account = web.accounts.get(user_id)
        sessions = 0 if account.roles or account.installer else web.sessions.end_for_user(user_id)
        view.audit("user.revoke", user_id, {"email": member.email, "role": member.role, "tokens_revoked": tokens})
        log.info(
            "%s removed %s from %s (%d API tokens revoked, %d sessions ended)",
            view.principal.actor,
            member.email,
            view.tenant_id,
            tokens,
            sessions,
        )

    @post("/{user_id:str}/reset-password", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def reset_password(self, request: Request[Any, Any, Any], view: TenantScope, user_id: str) -> ResetLink:
        """Lock a member's password, sign them out everywhere, revoke the API tokens they made, and return a
        one-time link (shown once, valid 24 hours) where they choose a new one. Refused (403) for someone who
        also belongs to a business you do not manage, and for yourself."""
        web = view.web
        member = _manageable(view, user_id, "reset the password of")
        refusal = _reset_refusal(view, user_id)
        if refusal is not None:
            log.warning(
                "password reset refused: %s for %s in %s: %s",
                view.principal.actor,
                member.email,
                view.tenant_id,
                refusal,
            )
            view.audit("user.reset_refused", user_id, {"email": member.email})
            raise PermissionDeniedException(refusal)
        token, expires = web.resets.start(user_id, tenant_id=view.tenant_id, created_by=view.principal.actor)
        sessions = web.sessions.end_for_user(user_id)
        tokens = web.tokens.revoke_made_by(user_id)
        view.audit("user.reset_password", user_id, {"email": member.email, "tokens_revoked": tokens})
        log.warning(
            "%s reset the password of %s (%s): %d sessions ended, %d API tokens revoked",
            view.principal.actor,
            member.email,
            view.tenant_id,
            sessions,
            tokens,
        )
        return ResetLink(
            url=_site(request, web) + f"/reset/{token}",
            path=f"/reset/{token}",
            expires_at=expires,
            notice=(
                f"{member.email} is signed out and their old password no longer works. Give them this link, "
                "shown once and valid for 24 hours, to choose a new password"
            ),
        )


class InvitationController(Controller):
    path = f"{TENANT}/invitations"
    tags = ["users"]

    @get("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def list_invitations(self, view: TenantScope) -> list[Invitation]:
        """Invitations not yet accepted, declined or expired."""
        return view.web.invitations.of_tenant(view.tenant_id)

    @delete("/{invitation_id:str}", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def withdraw_invitation(self, view: TenantScope, invitation_id: str) -> None:
        invitation = view.web.invitations.withdraw(view.tenant_id, invitation_id)
        view.audit("user.invite_withdraw", invitation.user_id, {"email": invitation.email, "role": invitation.role})


class TokenController(Controller):
    path = f"{TENANT}/tokens"
    tags = ["users"]

    @get("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def list_tokens(self, view: TenantScope) -> list[TokenInfo]:
        return view.web.tokens.list(view.tenant_id)

    @post("/", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def create_token(self, view: TenantScope, data: NewToken) -> CreatedToken:
        """A token acts for the person who made it (or for the person behind the token that made it): on every
        request it is worth no more than that person's role in the business at that moment."""
        role = _check_grant(view, data.role)
        principal, tokens = view.principal, view.web.tokens
        creator_user: str | None = None
        parent: str | None = None
        if principal.kind == "user":
            creator_user = principal.id
        elif principal.kind == "token":
            maker = tokens.by_id(principal.id)
            if maker is None:  # revoked between the check of this request and now
                raise PermissionDeniedException("this API token has been revoked")
            creator_user, parent = maker.creator_user, maker.id
        token, info = tokens.create(
            view.tenant_id,
            name=data.name,
            role=role,
            created_by=principal.actor,
            creator_user=creator_user,
            parent_token=parent,
        )
        view.audit("token.create", info.id, {"name": info.name, "role": role})
        return CreatedToken(token=token, info=info)

    @delete("/{token_id:str}", permission=Permission.USERS_MANAGE, sync_to_thread=True)
    def revoke_token(self, view: TenantScope, token_id: str) -> None:
        view.web.tokens.revoke(view.tenant_id, token_id)
        view.audit("token.revoke", token_id)
