"""What a line (a SIP call, a browser call, a simulation) needs of the running appliance.

The wiring's ``Runtime`` is one; the edges name this protocol instead of importing the wiring, so the
direction of imports stays from the composition root down to the core.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from core.calls.live import LiveCalls
from core.calls.session import CallSession
from core.store.calls import CallRepository
from core.store.tenants import TenantRepository
from models.loader import ModelSet


class CallHost(Protocol):
    @property
    def models(self) -> ModelSet: ...

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def calls(self) -> CallRepository: ...

    @property
    def live(self) -> LiveCalls: ...

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
        """A session for a new call to the tenant, already listed as live."""
        ...

    async def warm_tenant(self, tenant_id: str) -> None:
        """Evaluate the tenant's system prompt ahead of its first call."""
        ...
