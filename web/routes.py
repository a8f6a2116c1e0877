"""Every route of the app, in one list: the REST API, the pages, and the static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.static_files import create_static_files_router

from web.api.account import AccountController
from web.api.assistant import AssistantController
from web.api.business import NotificationController, NumbersController, RetentionController, WebhookController
from web.api.callers import CallerController
from web.api.calls import CallController, SimulateController
from web.api.dashboard import DashboardController, UsageController
from web.api.golden import GoldenController
from web.api.health import healthz
from web.api.kb import KnowledgeController
from web.api.live import LiveController, live_feed
from web.api.sip import sip_line, tenant_sip_line
from web.api.tenants import TenantController, me
from web.api.users import InvitationController, TokenController, UserController
from web.api.webrtc import WebRtcController
from web.api.work import AuditController, BookingController, LeadController
from web.pages import account, auth, business, config

STATIC = Path(__file__).resolve().parent / "static"


def handlers() -> list[Any]:
    return [
        healthz,
        me,
        TenantController,
        SimulateController,
        CallController,
        LiveController,
        live_feed,
        DashboardController,
        UsageController,
        GoldenController,
        BookingController,
        LeadController,
        AuditController,
        AssistantController,
        NumbersController,
        NotificationController,
        WebhookController,
        RetentionController,
        CallerController,
        UserController,
        InvitationController,
        TokenController,
        AccountController,
        WebRtcController,
        sip_line,
        tenant_sip_line,
        KnowledgeController,
        auth.front_door,
        auth.login_page,
        auth.login,
        auth.logout,
        auth.reset_page,
        auth.reset,
        account.account_page,
        auth.setup_page,
        auth.setup,
        auth.businesses,
        business.dashboard_page,
        business.calls_page,
        business.call_page,
        business.tests_page,
        business.live_page,
        business.bookings_page,
        business.leads_page,
        business.audit_page,
        config.welcome_page,
        config.assistant_page,
        config.test_call_page,
        config.knowledge_page,
        config.settings_page,
        create_static_files_router(path="/static", directories=[STATIC], opt={"permission": "public"}),
    ]
