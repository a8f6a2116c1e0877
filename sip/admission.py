"""What happens to a new call: answered for a tenant's assistant, refused (unknown number, still starting,
stopping, every line busy), or left ringing while the event loop prepares a busy message.

Runs on the SIP stack's thread, so a call is answered (or refused) the moment its INVITE is read, however busy
the event loop is. Everything it reads is safe to read from there: the store (one connection under a lock), the
models' states, and counts of calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.errors import ApplianceError
from models.catalog import Role
from sip.dialplan import dialled_numbers
from sip.events import Decision, Offered
from sip.media import MediaQueues

if TYPE_CHECKING:
    from appliance.runtime import Runtime

_CALL_MODELS: tuple[Role, ...] = ("vad", "stt", "llm", "tts")


class Admission:
    def __init__(self, runtime: Runtime, *, max_calls: int, rate: int, sip_calls: Callable[[], int]) -> None:
        """``sip_calls``: conversations the SIP stack has answered and not yet ended."""
        self._runtime = runtime
        self._max_calls = max_calls
        self._rate = rate
        self._sip_calls = sip_calls
        self.stopping = False

    def decide(self, offer: Offered) -> Decision:
        if self.stopping:
            return Decision(503, "the appliance is stopping")
        try:
            found = self._tenant(dialled_numbers(offer.request_uri, offer.to_uri))
        except ApplianceError as exc:
            return Decision(503, f"the store could not be read: {exc}")
        if found is None:
            return Decision(404, "no tenant owns the number")
        did, tenant_id = found
        if not self._models_ready():
            return Decision(503, "the models are still loading", tenant_id, did)
        if self.active() >= self._max_calls:
            when_busy = self._runtime.tenants.get(tenant_id).telephony.when_busy
            if when_busy == "message":
                return Decision(0, "every line is busy: the caller hears the busy message", tenant_id, did)
            return Decision(486, "every line is busy", tenant_id, did)
        return Decision(200, "answered", tenant_id, did, MediaQueues(self._rate))

    def active(self) -> int:
        """Calls in progress on this box: SIP conversations, and calls on other channels (browser, simulated)."""
        others = sum(1 for session in list(self._runtime.live.values()) if session.call.channel != "sip")
        return self._sip_calls() + others

    def _tenant(self, numbers: list[str]) -> tuple[str, str] | None:
        for number in numbers:
            tenant_id = self._runtime.tenants.by_number(number)
            if tenant_id is not None:
                return number, tenant_id
        return None

    def _models_ready(self) -> bool:
        states = {s.role: s.state for s in self._runtime.models.status()}
        return all(states.get(role) == "loaded" for role in _CALL_MODELS)
