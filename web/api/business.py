"""A business's settings over the API: notification targets, webhooks and data retention."""

from __future__ import annotations

import re

import msgspec
from litestar import Controller, delete, get, post, put

from core.errors import InputError
from core.tenants.document import Notifications, normalise_number, parse_tenant
from web.api.paths import TENANT
from web.auth.policy import Permission
from web.scope import TenantScope
from web.store.business import Retention, Webhook


class NewWebhook(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str
    events: list[str]


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9]{6,20}$")


class CreatedWebhook(msgspec.Struct, kw_only=True):
    webhook: Webhook
    signing_key: str  # shown this once; requests carry an HMAC-SHA256 of their body under it


class Numbers(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    numbers: list[str]  # the DIDs callers ring; each belongs to one business on this box


class NumbersController(Controller):
    path = f"{TENANT}/numbers"
    tags = ["settings"]

    @get("/", permission=Permission.SETTINGS_READ, sync_to_thread=False)
    def get_numbers(self, view: TenantScope) -> Numbers:
        return Numbers(numbers=view.tenant.numbers)

    @put("/", permission=Permission.SETTINGS_WRITE, sync_to_thread=True)
    def put_numbers(self, view: TenantScope, data: Numbers) -> Numbers:
        """Replace the business's numbers (a number another business has is refused)."""
        raw = msgspec.to_builtins(view.tenant)
        raw["numbers"] = [n.strip() for n in data.numbers if n.strip()]
        doc = parse_tenant(raw, source="numbers")
        view.web.runtime.tenants.save(doc, replace=True, actor=view.principal.actor)
        view.audit("numbers.update", view.tenant_id, {"numbers": doc.numbers})
        return Numbers(numbers=doc.numbers)


class NotificationController(Controller):
    path = f"{TENANT}/notifications"
    tags = ["settings"]

    @get("/", permission=Permission.SETTINGS_READ, sync_to_thread=False)
    def get_notifications(self, view: TenantScope) -> Notifications:
        """Who is told at once of emergencies and leads, and whether callers get their booking by SMS."""
        return view.tenant.notifications

    @put("/", permission=Permission.SETTINGS_WRITE, sync_to_thread=True)
    def put_notifications(self, view: TenantScope, data: Notifications) -> Notifications:
        if data.owner_email.strip() and not _EMAIL.match(data.owner_email.strip()):
            raise InputError(f"'{data.owner_email}' is not an email address")
        sms = normalise_number(data.owner_sms)
        if sms and not _PHONE.match(sms):
            raise InputError(f"'{data.owner_sms}' is not a phone number")
        raw = msgspec.to_builtins(view.tenant)
        raw["notifications"] = {**msgspec.to_builtins(data), "owner_email": data.owner_email.strip(), "owner_sms": sms}
        doc = parse_tenant(raw, source="notifications")
        view.web.runtime.tenants.save(doc, replace=True, actor=view.principal.actor)
        view.audit("notifications.update", view.tenant_id, msgspec.to_builtins(doc.notifications))
        return doc.notifications


class WebhookController(Controller):
    path = f"{TENANT}/webhooks"
    tags = ["settings"]

    @get("/", permission=Permission.SETTINGS_READ, sync_to_thread=True)
    def list_webhooks(self, view: TenantScope) -> list[Webhook]:
        return view.web.business.webhooks(view.tenant_id)

    @post("/", permission=Permission.SETTINGS_WRITE, sync_to_thread=True)
    def add_webhook(self, view: TenantScope, data: NewWebhook) -> CreatedWebhook:
        hook, key = view.web.business.add_webhook(view.tenant_id, data.url, data.events)
        view.audit("webhook.add", hook.id, {"url": hook.url, "events": hook.events})
        return CreatedWebhook(webhook=hook, signing_key=key)

    @delete("/{webhook_id:str}", permission=Permission.SETTINGS_WRITE, sync_to_thread=True)
    def remove_webhook(self, view: TenantScope, webhook_id: str) -> None:
        view.web.business.remove_webhook(view.tenant_id, webhook_id)
        view.audit("webhook.remove", webhook_id)


class RetentionController(Controller):
    path = f"{TENANT}/retention"
    tags = ["settings"]

    @get("/", permission=Permission.SETTINGS_READ, sync_to_thread=True)
    def get_retention(self, view: TenantScope) -> Retention:
        return view.web.business.retention(view.tenant_id)

    @put("/", permission=Permission.SETTINGS_WRITE, sync_to_thread=True)
    def put_retention(self, view: TenantScope, data: Retention) -> Retention:
        """Days to keep recordings and calls (empty: forever); older ones are deleted hourly."""
        view.web.business.set_retention(view.tenant_id, data)
        view.audit("retention.update", view.tenant_id, msgspec.to_builtins(data))
        return data
