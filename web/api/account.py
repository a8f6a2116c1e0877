"""What a signed-in person does for themselves: change their password, and accept or decline the invitations
businesses sent them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException, TooManyRequestsException

from core.errors import InputError, NotFoundError
from core.store import audit
from web.auth.policy import Principal, Role
from web.context import WebContext
from web.store.invitations import Invitation, check_code_given

log = logging.getLogger("appliance.web.account")


class PasswordChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    current: str
    new: str


class PasswordChanged(msgspec.Struct, kw_only=True):
    other_sessions_ended: int


class PendingInvitation(msgspec.Struct, kw_only=True):
    id: str
    tenant_id: str
    business: str
    role: Role
    invited_by: str
    expires_at: datetime


class InvitationCode(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: str


class Joined(msgspec.Struct, kw_only=True):
    tenant_id: str
    role: Role


def _person(principal: Principal) -> str:
    if principal.kind != "user":
        raise PermissionDeniedException("only a person signed in with their password can do this, not an API token")
    return principal.id


def _throttled(web: WebContext, address: str, key: str) -> None:
    wait = web.throttle.retry_after(address, key)
    if wait > 0:
        log.warning("refused: too many wrong attempts (%s) from %s", key, address)
        minutes = max(1, round(wait / 60))
        raise TooManyRequestsException(f"too many wrong attempts; try again in {minutes} minute(s)")


def pending_invitations(web: WebContext, user_id: str) -> list[PendingInvitation]:
    names = {t.id: t.name for t in web.runtime.tenants.summaries()}
    return [
        PendingInvitation(
            id=i.id,
            tenant_id=i.tenant_id,
            business=names.get(i.tenant_id, i.tenant_id),
            role=i.role,
            invited_by=i.invited_by,
            expires_at=i.expires_at,
        )
        for i in web.invitations.of_user(user_id)
        if i.tenant_id in names
    ]


def _own_invitation(web: WebContext, user_id: str, invitation_id: str) -> Invitation:
    invitation = web.invitations.get(invitation_id)
    if invitation.user_id != user_id:
        raise NotFoundError(f"no pending invitation '{invitation_id}' for you")
    return invitation


class AccountController(Controller):
    path = "/api/v1/me"
    tags = ["account"]

    @post("/password", permission="signed_in", sync_to_thread=True)
    def change_password(
        self, request: Request[Any, Any, Any], web: WebContext, principal: Principal, data: PasswordChange
    ) -> PasswordChanged:
        """Change your own password (the current one is needed). Your other sessions end; this one stays."""
        user_id = _person(principal)
        address = web.proxies.client_address(request)
        _throttled(web, address, principal.name)
        if not web.accounts.check_password(user_id, data.current):
            web.throttle.failed(address, principal.name)
            log.warning("password change refused for %s from %s: wrong current password", principal.name, address)
            raise InputError("the current password is wrong")
        if data.new == data.current:
            raise InputError("the new password is the same as the current one")
        web.accounts.set_password(user_id, data.new)
        ended = web.sessions.end_for_user(user_id, keep=principal.session)
        for tenant_id in web.accounts.get(user_id).roles:
            audit.record(
                web.runtime.store,
                tenant_id=tenant_id,
                actor=principal.actor,
                action="user.password",
                target=user_id,
                detail={"other_sessions_ended": ended},
            )
        log.info("%s changed their password from %s (%d other sessions ended)", principal.name, address, ended)
        return PasswordChanged(other_sessions_ended=ended)

    @get("/invitations", permission="signed_in", sync_to_thread=True)
    def list_invitations(self, web: WebContext, principal: Principal) -> list[PendingInvitation]:
        """Businesses that invited you and are waiting for your answer."""
        return pending_invitations(web, _person(principal))

    @post("/invitations/{invitation_id:str}/accept", permission="signed_in", sync_to_thread=True)
    def accept(
        self,
        request: Request[Any, Any, Any],
        web: WebContext,
        principal: Principal,
        invitation_id: str,
        data: InvitationCode,
    ) -> Joined:
        """Join the business, with the code its owner gave you."""
        user_id = _person(principal)
        check_code_given(data.code)
        invitation = _own_invitation(web, user_id, invitation_id)
        address = web.proxies.client_address(request)
        key = f"invitation:{principal.name}"
        _throttled(web, address, key)
        if not web.invitations.code_matches(invitation, data.code):
            web.throttle.failed(address, key)
            log.warning("invitation %s: wrong code from %s (%s)", invitation.id, principal.name, address)
            audit.record(
                web.runtime.store,
                tenant_id=invitation.tenant_id,
                actor=principal.actor,
                action="user.invite_wrong_code",
                target=user_id,
                detail={"invitation": invitation.id},
            )
            raise InputError("that is not the code for this invitation; ask the business for it again")
        web.accounts.grant(user_id, invitation.tenant_id, invitation.role)
        web.invitations.remove(invitation.id)
        audit.record(
            web.runtime.store,
            tenant_id=invitation.tenant_id,
            actor=principal.actor,
            action="user.invite_accept",
            target=user_id,
            detail={"role": invitation.role},
        )
        log.info("%s accepted the invitation to %s as %s", principal.name, invitation.tenant_id, invitation.role)
        return Joined(tenant_id=invitation.tenant_id, role=invitation.role)

    @post("/invitations/{invitation_id:str}/decline", permission="signed_in", sync_to_thread=True, status_code=200)
    def decline(self, web: WebContext, principal: Principal, invitation_id: str) -> None:
        user_id = _person(principal)
        invitation = _own_invitation(web, user_id, invitation_id)
        web.invitations.remove(invitation.id)
        audit.record(
            web.runtime.store,
            tenant_id=invitation.tenant_id,
            actor=principal.actor,
            action="user.invite_decline",
            target=user_id,
            detail={"role": invitation.role},
        )
        log.info("%s declined the invitation to %s", principal.name, invitation.tenant_id)
