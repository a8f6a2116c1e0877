"""Your account: change your password, and answer the businesses that invited you."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from web.api.account import pending_invitations
from web.auth.policy import Principal
from web.context import WebContext
from web.pages.layout import render


@get("/account", permission="signed_in", sync_to_thread=True, include_in_schema=False)
def account_page(request: Request[Any, Any, Any], web: WebContext, principal: Principal) -> Template:
    invitations = pending_invitations(web, principal.id) if principal.kind == "user" else []
    return render(request, "account.html", invitations=invitations)
