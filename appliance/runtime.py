"""Everything a running appliance shares: settings, the store, the models, and how calls are created."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import structlog

from appliance.settings import Settings
from core.aftercall.follow_up import summary_to_owner
from core.aftercall.worker import AnalysisWorker
from core.calendars.factory import calendar_for
from core.calls.live import LiveCalls
from core.calls.session import CallSession, Models
from core.dialogue.conversation import Conversation, opening
from core.dialogue.dialogue import Dialogue
from core.dialogue.facts import FactVectors
from core.dialogue.flow import Flow
from core.knowledge import Knowledge
from core.notify.notifier import Notifier
from core.records import CallRecord
from core.security.secrets import SecretBox, SecretStore
from core.store.calls import CallRepository
from core.store.database import Store, new_id, utcnow
from core.store.tenants import TenantRepository
from core.tenants.document import TenantDocument
from core.tenants.routing import route, variants
from core.tools.base import ToolBox, ToolContext
from core.tools.registry import tools_for
from kb.base import KnowledgeBase
from models.interfaces import LlmProvider
from models.loader import ModelSet
from sip.interfaces import Telephony

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings, store: Store, models: ModelSet) -> None:
        self.settings = settings
        self.store = store
        self.models = models
        self.secret_box = SecretBox.from_file(settings.key_path)
        self.secrets = SecretStore(store, self.secret_box)
        # Tenant documents; their credentials (CalDAV password, tools' signing secrets) are kept in ``secrets``.
        self.tenants = TenantRepository(store, self.secrets)
        self.tenants.move_clear_credentials()  # from a store an earlier version wrote them into in clear
        self.calls = CallRepository(store)
        # The knowledge base: its operations (adding, listing, removing sources), and what calls ask of it.
        self.kb = KnowledgeBase(
            settings.kb, store, self.tenants, models, settings.kb_path, llm_context=settings.models.llm_context
        )
        self.knowledge: Knowledge | None = self.kb
        # The embeddings of each tenant's fact lines, which questions are matched to (computed once per tenant).
        self.fact_vectors = FactVectors(models.embedder)
        self.live = LiveCalls()  # calls in progress, for the live view and staff actions
        # Summaries of finished calls, written while no call is in progress (started by the app with the models).
        self.aftercall = AnalysisWorker(self.calls, models.llm, busy=lambda: bool(self.live.sessions()))
        self.live.on_ended.append(self.aftercall.wake)
        self.aftercall.on_analysed.append(
            lambda call: summary_to_owner(self.notifier, self.tenants.get(call.tenant_id), call)
        )
        self.telephony: Telephony | None = None  # set while SIP runs (appliance serve)
        self.notifier = Notifier(store, settings.notifications)
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
        self.models.close()
        self.store.close()

    def call_models(self) -> Models:
        return Models(
            vad=self.models.vad(),
            stt=self.models.stt(),
            llm=self.models.llm(),
            tts=self.models.tts(),
            foreground=self.models.foreground,
            turn=self.models.turn() if self.settings.calls.turn_detection else None,
        )

    def new_call(
        self,
        tenant_id: str,
        *,
        channel: str,
        caller: str | None,
        callee: str | None,
        rate: int,
        now: Callable[[], datetime] | None = None,
    ) -> CallSession:
        """A call to the tenant; ``now`` (the local time the call sees; the wall clock by default) is for
        simulations and benchmarks that replay a call at another time."""
        # With its credentials: the call's calendar and tools use them. Business hours or after hours.
        routing = route(self.tenants.with_secrets(tenant_id), now() if now else utcnow())
        tenant = routing.tenant
        models = self.call_models()
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
            models=models,
            settings=self.settings.calls,
            rate=rate,
            calls=self.calls,
            dialogue=lambda log: self._dialogue(tenant, models.llm, call.id, caller, log, now),
        )
        self.live.add(session)
        return session

    def _dialogue(
        self,
        tenant: TenantDocument,
        llm: LlmProvider,
        call_id: str,
        caller: str | None,
        log: structlog.stdlib.BoundLogger,
        now: Callable[[], datetime] | None = None,
    ) -> Dialogue:
        mode = self.knowledge.mode(tenant.id) if self.knowledge is not None and tenant.has("knowledge") else "none"
        inline = self.knowledge.inline(tenant.id) if self.knowledge is not None and mode == "inline" else None
        conversation = Conversation(
            tenant,
            llm,
            max_reply_tokens=self.settings.calls.max_reply_tokens,
            history_turns=self.settings.calls.history_turns,
            log=log,
            knowledge=inline,
            vectors=self.fact_vectors,
            now=now,
        )
        context = ToolContext(
            tenant=tenant,
            call_id=call_id,
            caller_number=caller,
            now=conversation.now,
            calendar=calendar_for(tenant, self.store),
            notifier=self.notifier,
            store=self.store,
            knowledge=self.knowledge,
        )
        toolbox = ToolBox(context, tools_for(tenant), self.settings.dialogue.tool_timeout_s)
        flow = Flow(
            tenant,
            now=conversation.now,
            caller_number=caller,
            has_tool=toolbox.has,
            retrieval=mode == "retrieval",
            log=log,
            refused_transfer=lambda target: self.tenants.refused_transfer(
                tenant.id, call_id, target, actor="assistant", by="transfer tool"
            ),
            vectors=self.fact_vectors,
            knowledge=inline,
        )
        return Dialogue(
            conversation, flow, toolbox, filler_after_s=self.settings.dialogue.filler_after_ms / 1000, log=log
        )

    async def warm_tenant(self, tenant_id: str) -> None:
        """Evaluate a tenant's system prompt (in hours and after hours) ahead of its first call."""
        tenant = self.tenants.get(tenant_id)
        knowledge = self.knowledge.inline(tenant_id) if self.knowledge is not None and tenant.has("knowledge") else None
        for variant in variants(tenant):
            await self.models.llm().prefill(opening(variant, knowledge))
