"""The pages where a business is configured: its assistant, a test call, knowledge, settings, first steps."""

from __future__ import annotations

from importlib import resources
from typing import Any

from litestar import Request, get
from litestar.response import Template

from core.tenants.document import DAYS, SKILLS
from models.catalog import CATALOG
from web.api.assistant import settings_of
from web.auth.policy import Permission, grantable_roles
from web.pages.layout import render
from web.scope import TenantScope
from web.store.business import EVENTS

T = "/t/{tenant_id:str}"
# The personalities the dialogue ships (core/dialogue/skills/personalities/); a business may write its own.
PERSONALITIES = tuple(
    sorted(
        p.name.removesuffix(".md")
        for p in (resources.files("core.dialogue") / "skills" / "personalities").iterdir()
        if p.name.endswith(".md")
    )
)

SKILL_LABELS = {
    "booking": "Book appointments",
    "leads": "Capture leads",
    "messages": "Take messages",
    "emergencies": "Recognise emergencies and alert the owner",
    "transfer": "Transfer to a person",
    "knowledge": "Answer from the knowledge base",
}


@get(f"{T}/welcome", permission=Permission.TENANT_READ, sync_to_thread=True, include_in_schema=False)
def welcome_page(request: Request[Any, Any, Any], view: TenantScope) -> Template:
    return render(request, "welcome.html", view, active="")


@get(f"{T}/assistant", permission=Permission.ASSISTANT_READ, sync_to_thread=True, include_in_schema=False)
def assistant_page(request: Request[Any, Any, Any], view: TenantScope) -> Template:
    return render(
        request,
        "assistant.html",
        view,
        active="assistant",
        a=settings_of(view.tenant),
        days=DAYS,
        skills=SKILLS,
        skill_labels=SKILL_LABELS,
        personalities=PERSONALITIES,
        voices=[s for s in CATALOG.values() if s.role == "tts"],
        can_write=view.may(Permission.ASSISTANT_WRITE),
    )


@get(f"{T}/test-call", permission=Permission.CALLS_TEST, sync_to_thread=True, include_in_schema=False)
def test_call_page(request: Request[Any, Any, Any], view: TenantScope) -> Template:
    return render(request, "test_call.html", view, active="test-call")


@get(f"{T}/knowledge", permission=Permission.KNOWLEDGE_READ, sync_to_thread=True, include_in_schema=False)
def knowledge_page(request: Request[Any, Any, Any], view: TenantScope) -> Template:
    return render(
        request,
        "knowledge.html",
        view,
        active="knowledge",
        available=view.web.runtime.knowledge is not None,
        can_write=view.may(Permission.KNOWLEDGE_WRITE),
    )


@get(f"{T}/settings", permission=Permission.SETTINGS_READ, sync_to_thread=True, include_in_schema=False)
def settings_page(request: Request[Any, Any, Any], view: TenantScope) -> Template:
    web = view.web
    return render(
        request,
        "settings.html",
        view,
        active="settings",
        webhooks=web.business.webhooks(view.tenant_id),
        retention=web.business.retention(view.tenant_id),
        members=web.accounts.members(view.tenant_id) if view.may(Permission.USERS_MANAGE) else [],
        tokens=web.tokens.list(view.tenant_id) if view.may(Permission.USERS_MANAGE) else [],
        invitations=web.invitations.of_tenant(view.tenant_id) if view.may(Permission.USERS_MANAGE) else [],
        roles=grantable_roles(view.role),
        events=EVENTS,
        can_write=view.may(Permission.SETTINGS_WRITE),
    )
