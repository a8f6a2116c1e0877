"""Everything a running appliance shares: settings, the store, the models, and how calls are created."""

from __future__ import annotations

import logging
from datetime import datetime

from appliance.calls.events import CallEnded, Event
from appliance.calls.records import CallRecord
from appliance.calls.session import CallSession, Models
from appliance.dialogue.conversation import opening
from appliance.dialogue.knowledge import Knowledge
from appliance.settings import Settings
from appliance.store.calls import CallRepository
from appliance.store.database import Store, new_id, utcnow
from appliance.store.tenants import TenantRepository
from appliance.tenants.routing import route, variants
from models.loader import ModelSet
from sip.interfaces import Telephony

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, store: Store, models: ModelSet) -> None:
        self.settings = settings
        self.store = store
        self.models = models
        self.tenants = TenantRepository(store)
        self.calls = CallRepository(store)
        self.knowledge: Knowledge | None = None  # set when the knowledge base is available
        self.telephony: Telephony | None = None  # set while SIP runs (appliance serve)
        self.live: dict[str, CallSession] = {}  # calls in progress, on every channel
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
        routing = route(self.tenants.get(tenant_id), utcnow())
        tenant = routing.tenant
        call = CallRecord(
            id=new_id("call"),
            tenant_id=tenant.id,
            assistant_id="default",
            channel=channel,
            caller=caller,
            callee=callee,
            started_at=utcnow(),
            meta={"after_hours": True} if routing.after_hours else {},
        )
        session = CallSession(
            call=call,
            tenant=tenant,
            models=self.call_models(),
            settings=self.settings.calls,
            rate=rate,
            calls=self.calls,
        )
        self.live[call.id] = session
        session.subscribe(_Forget(self.live, call.id))
        return session

    async def warm_tenant(self, tenant_id: str) -> None:
        """Evaluate a tenant's system prompt (in hours and after hours) ahead of its first call."""
        for tenant in variants(self.tenants.get(tenant_id)):
            await self.models.llm().prefill(opening(tenant))


class _Forget:
    """Takes a call off the list of live calls when it ends."""

    def __init__(self, live: dict[str, CallSession], call_id: str) -> None:
        self._live, self._call_id = live, call_id

    def handle(self, event: Event) -> None:
        if isinstance(event, CallEnded):
            self._live.pop(self._call_id, None)
