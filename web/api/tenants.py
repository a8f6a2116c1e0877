"""Tenants over the API (used by the CLI while the server holds the store)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, post, put

from appliance.runtime import Runtime
from appliance.store.tenants import TenantSummary
from appliance.tenants.document import TenantDocument, parse_tenant
from web.api.auth import cli_token_guard


class Saved(msgspec.Struct):
    id: str
    existed: bool


class TenantController(Controller):
    path = "/api/v1/tenants"
    guards = [cli_token_guard]
    tags = ["tenants"]

    @get("/", sync_to_thread=True)
    def list_tenants(self, runtime: Runtime) -> list[TenantSummary]:
        return runtime.tenants.summaries()

    @get("/{tenant_id:str}", sync_to_thread=True)
    def get_tenant(self, runtime: Runtime, tenant_id: str) -> TenantDocument:
        return runtime.tenants.get(tenant_id)

    @post("/", sync_to_thread=True)
    def create_tenant(self, runtime: Runtime, data: dict[str, Any]) -> Saved:
        doc = parse_tenant(data)
        return Saved(doc.id, runtime.tenants.save(doc, replace=False, actor="api"))

    @put("/", sync_to_thread=True)
    def replace_tenant(self, runtime: Runtime, data: dict[str, Any]) -> Saved:
        doc = parse_tenant(data)
        return Saved(doc.id, runtime.tenants.save(doc, replace=True, actor="api"))
