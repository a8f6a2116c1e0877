"""Everything a running appliance shares: settings, the store, the models, and how calls are created."""

from __future__ import annotations

import logging
from datetime import datetime

from appliance.calls.live import LiveCalls
from appliance.calls.records import CallRecord
from appliance.calls.session import CallSession, Models
from appliance.dialogue.conversation import opening
from appliance.dialogue.knowledge import Knowledge
from appliance.security.secrets import SecretBox, SecretStore
from appliance.settings import Settings
from appliance.store.calls import CallRepository
from appliance.store.database import Store, new_id, utcnow
from appliance.store.tenants import TenantRepository
from models.loader import ModelSet

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, store: Store, models: ModelSet) -> None:
        self.settings = settings
        self.store = store
        self.models = models
        self.tenants = TenantRepository(store)
        self.calls = CallRepository(store)
        self.knowledge: Knowledge | None = None  # set when the knowledge base is available
        self.secret_box = SecretBox.from_file(settings.key_path)
        self.secrets = SecretStore(store, self.secret_box)
        self.live = LiveCalls()  # calls in progress, for the live view and staff actions
        self.started_at: datetime = utcnow()

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        """Open the store (only one process can) and prepare the models (loaded on first use)."""
        runtime = cls(settings, Store.open(settings.store_path), ModelSet(settings.models, settings.models_path))
        orphans = runtime.calls.close_orphans()
        if orphans:
            log.warning("marked %d call(s) interrupted: the appliance stopped while they were active", orphans)
        return runtime

    def close(self) -> None:
        self.store.close()

    def call_models(self) -> Models:
        return Models(vad=self.models.vad(), stt=self.models.stt(), llm=self.models.llm(), tts=self.models.tts())

    def new_call(
        self, tenant_id: str, *, channel: str, caller: str | None, callee: str | None, rate: int
    ) -> CallSession:
        tenant = self.tenants.get(tenant_id)
        call = CallRecord(
            id=new_id("call"),
            tenant_id=tenant.id,
            assistant_id="default",
            channel=channel,
            caller=caller,
            callee=callee,
            started_at=utcnow(),
        )
        session = CallSession(
            call=call,
            tenant=tenant,
            models=self.call_models(),
            settings=self.settings.calls,
            rate=rate,
            calls=self.calls,
        )
        self.live.add(session)
        return session

    async def warm_tenant(self, tenant_id: str) -> None:
        """Evaluate a tenant's system prompt ahead of its first call."""
        await self.models.llm().prefill(opening(self.tenants.get(tenant_id)))
