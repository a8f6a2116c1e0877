"""What happens to a new call: answered for a tenant's assistant, refused (unknown number, still starting,
stopping, every line busy), or left ringing while the event loop prepares a busy message.

Runs on the SIP stack's thread, so a call is answered (or refused) the moment its INVITE is read, however busy
the event loop is. It reads no database there: a writer committing (each call start is a write) would hold the
store's lock. Which tenant owns which number, and what each does when the lines are full, is copied into memory
by ``refresh`` (the service runs it off the event loop every few seconds, when tenants have changed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.tenants.document import normalise_number
from models.catalog import Role
from sip.dialplan import dialled_numbers, user_of
from sip.events import Decision, Offered
from sip.limits import Rate
from sip.media import MediaQueues

if TYPE_CHECKING:
    from core.calls.host import CallHost

_CALL_MODELS: tuple[Role, ...] = ("vad", "stt", "llm", "tts")
CALLER_LIMITED = 603  # a caller number over sip.calls_per_caller_per_hour


@dataclass(frozen=True, slots=True)
class Routes:
    owners: dict[str, str] = field(default_factory=dict)  # number -> tenant
    when_busy: dict[str, str] = field(default_factory=dict)  # tenant -> "reject" | "message"
    version: str = ""


class Admission:
    def __init__(
        self, host: CallHost, *, max_calls: int, rate: int, sip_calls: Callable[[], int], per_caller_hour: int = 0
    ) -> None:
        """``sip_calls``: conversations the SIP stack has answered and not yet ended. ``per_caller_hour``: calls
        an hour one caller number may make (0: no limit)."""
        self._host = host
        self._max_calls = max_calls
        self._rate = rate
        self._sip_calls = sip_calls
        self._callers = Rate(per_caller_hour / 3600, per_caller_hour)
        self._routes = Routes()  # replaced whole, never changed in place: the SIP thread reads it
        self.stopping = False

    def refresh(self) -> bool:
        """Re-read the numbers when a tenant has changed (blocking: run it in a worker thread)."""
        tenants = self._host.tenants
        version = tenants.changed()
        if version == self._routes.version:
            return False
        owners = tenants.numbers()
        when_busy: dict[str, str] = {t: tenants.get(t).telephony.when_busy for t in set(owners.values())}
        self._routes = Routes(owners, when_busy, version)
        return True

    def decide(self, offer: Offered) -> Decision:
        if self.stopping:
            return Decision(503, "the appliance is stopping")
        found = self.owner(offer.request_uri, offer.to_uri)
        if found is None:
            return Decision(404, "no tenant owns the number")
        did, tenant_id = found
        if not self._models_ready():
            return Decision(503, "the models are still loading", tenant_id, did)
        caller = caller_number(offer.from_uri)
        if caller and not self._callers.take(caller, time.monotonic()):
            return Decision(CALLER_LIMITED, "this number has called too often in the last hour", tenant_id, did)
        if self.active() >= self._max_calls:
            if self._routes.when_busy.get(tenant_id) == "message":
                return Decision(0, "every line is busy: the caller hears the busy message", tenant_id, did)
            return Decision(486, "every line is busy", tenant_id, did)
        return Decision(200, "answered", tenant_id, did, MediaQueues(self._rate))

    def owner(self, request_uri: str, to_uri: str) -> tuple[str, str] | None:
        """The dialled number and the tenant that owns it."""
        owners = self._routes.owners
        return next(((n, owners[n]) for n in dialled_numbers(request_uri, to_uri) if n in owners), None)

    def active(self) -> int:
        """Calls in progress on this box: SIP conversations, and calls on other channels (browser, simulated)."""
        others = sum(1 for session in self._host.live.sessions() if session.call.channel != "sip")
        return self._sip_calls() + others

    def _models_ready(self) -> bool:
        states = {s.role: s.state for s in self._host.models.status()}
        return all(states.get(role) == "loaded" for role in _CALL_MODELS)


def caller_number(from_uri: str) -> str:
    """The caller's number as the From header gives it; "" when withheld or not a number ("anonymous")."""
    number = normalise_number(user_of(from_uri))
    return number if number.lstrip("+").isdigit() else ""
