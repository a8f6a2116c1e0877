"""A business's settings over the API: notification targets, webhooks and data retention."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Controller, delete, get, post, put

from appliance.tenants.document import parse_tenant
from web.api.paths import TENANT
from web.auth.policy import Permission
from web.scope import TenantScope
from web.store.business import NotificationTarget, Retention, Webhook


class NewTarget(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    channel: Literal["email", "sms"]
    target: str
    events: list[str]


class NewWebhook(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str
    events: list[str]


class CreatedWebhook(msgspec.Struct, kw_only=True):
    webhook: Webhook
    signing_key: str  # shown this once; requests carry an HMAC-SHA256 of their body under it


class Numbers(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    numbers: list[str]  # the DIDs callers ring; each belongs to one business on this box


class NumbersController(Controller):
    path = f"{TENANT}/numbers"
    tags = ["settings"]  # noqa: RUF012

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
    tags = ["settings"]  # noqa: RUF012

    @get("/", permission=Permission.SETTINGS_READ, sync_to_thread=True)
    def list_targets(self, view: TenantScope) -> list[NotificationTarget]:
        return view.web.business.targets(view.tenant_id)

    @post("/", permission=Permission.SETTINGS_WRITE, sync_to_thread=True)
    def add_target(self, view: TenantScope, data: NewTarget) -> NotificationTarget:
        item = view.web.business.add_target(view.tenant_id, data.channel, data.target, data.events)
        view.audit("notification.add", item.id, {"channel": item.channel, "target": item.target, "events": item.events})
        return item

    @delete("/{target_id:str}", permission=Permission.SETTINGS_WRITE, sync_to_thread=True)
    def remove_target(self, view: TenantScope, target_id: str) -> None:
        view.web.business.remove_target(view.tenant_id, target_id)
        view.audit("notification.remove", target_id)


class WebhookController(Controller):
    path = f"{TENANT}/webhooks"
    tags = ["settings"]  # noqa: RUF012

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
    tags = ["settings"]  # noqa: RUF012

    @get("/", permission=Permission.SETTINGS_READ, sync_to_thread=True)
    def get_retention(self, view: TenantScope) -> Retention:
        return view.web.business.retention(view.tenant_id)

    @put("/", permission=Permission.SETTINGS_WRITE, sync_to_thread=True)
    def put_retention(self, view: TenantScope, data: Retention) -> Retention:
        """Days to keep recordings and calls (empty: forever); older ones are deleted hourly."""
        view.web.business.set_retention(view.tenant_id, data)
        view.audit("retention.update", view.tenant_id, msgspec.to_builtins(data))
        return data
