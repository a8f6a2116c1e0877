"""Calls in progress, as a feed for people watching: the transcript as it is spoken, and the staff actions that
reach into a call (take it over, end it). A ``LiveCall`` is one more stage on the call's event bus, so nothing
in the audio path knows it is being watched."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from core.calls.session import CallSession
from core.errors import NotFoundError
from core.events import (
    CallEnded,
    CallerCorrected,
    CallerSaid,
    CallStarted,
    Event,
    HangupRequested,
    ReplyText,
    ToolCalled,
    TransferRequested,
    TurnCompleted,
)
from core.records import CallRecord, ToolCallRecord
from core.store.database import utcnow
from core.tenants.transfers import HOW_TO_ALLOW, TransferRefused, TransferTargets

log = logging.getLogger(__name__)

Message = dict[str, Any]
_QUEUE = 1000  # messages a watcher may fall behind before it is dropped


class LiveCall:
    def __init__(self, session: CallSession, registry: LiveCalls) -> None:
        self.session = session
        self._registry = registry
        self.history: list[Message] = []
        self._watchers: set[asyncio.Queue[Message | None]] = set()

    @property
    def call_id(self) -> str:
        return self.session.call.id

    @property
    def tenant_id(self) -> str:
        return self.session.call.tenant_id

    def summary(self) -> Message:
        call = self.session.call
        return {
            "id": call.id,
            "channel": call.channel,
            "caller": call.caller,
            "callee": call.callee,
            "started_at": call.started_at.isoformat(timespec="seconds") + "Z",
            "turns": sum(1 for m in self.history if m["type"] == "turn"),
            "leaving": self.session.leaving is not None,
        }

    def handle(self, event: Event) -> None:
        if isinstance(event, ToolCalled):
            self._registry.tool_called(self.session.call, event.record)
        message = _message(event)
        if isinstance(event, CallerCorrected):
            # Named by its place among the caller's lines, never by its words: those held what was redacted. A
            # watcher who joins later replays the history, so that is corrected too.
            said = [kept for kept in self.history if kept["type"] == "caller"]
            found = next((n for n, kept in enumerate(said) if kept["text"] == event.was.text), None)
            if found is None:
                return
            said[found]["text"] = event.now.text
            for kept in self.history:
                if kept["type"] == "turn" and kept["turn"].get("caller") == event.was.text:
                    kept["turn"]["caller"] = event.now.text
            message = {"type": "corrected", "caller_line": found, "text": event.now.text}
        if message is None:
            return
        message["at"] = utcnow().isoformat(timespec="milliseconds") + "Z"
        self.history.append(message)
        for queue in list(self._watchers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                log.warning("a live-call watcher fell too far behind and was dropped", extra={"call_id": self.call_id})
                self._watchers.discard(queue)
        if isinstance(event, CallEnded):
            for queue in list(self._watchers):
                queue.put_nowait(None)
            self._watchers.clear()
            self._registry.remove(self.call_id)

    def watch(self) -> asyncio.Queue[Message | None]:
        """A queue of this call's messages, starting with everything said so far; None when the call ends."""
        queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=_QUEUE + len(self.history))
        for message in self.history:
            queue.put_nowait(message)
        self._watchers.add(queue)
        return queue

    def unwatch(self, queue: asyncio.Queue[Message | None]) -> None:
        self._watchers.discard(queue)


def _message(event: Event) -> Message | None:
    if isinstance(event, CallStarted):
        return {"type": "started", "call": msgspec.to_builtins(event.call)}
    if isinstance(event, CallerSaid):
        return {"type": "caller", "text": event.text, "source": event.source}
    if isinstance(event, ReplyText):
        return {"type": "assistant", "turn": event.turn, "text": event.text}
    if isinstance(event, TurnCompleted):
        return {"type": "turn", "turn": msgspec.to_builtins(event.record)}
    if isinstance(event, TransferRequested):
        return {"type": "transfer", "target": event.target, "reason": event.reason}
    if isinstance(event, HangupRequested):
        return {"type": "hangup", "reason": event.reason}
    if isinstance(event, CallEnded):
        return {"type": "ended", "outcome": event.call.outcome, "reason": event.call.end_reason}
    return None


class LiveCalls:
    """Every call in progress on this box, by id."""

    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}
        self.on_ended: list[Callable[[CallRecord], None]] = []  # told of every call once it has ended
        # Told of every tool call as it returns (a booking made, a lead taken), during the call.
        self.on_tool: list[Callable[[CallRecord, ToolCallRecord], None]] = []

    def tool_called(self, call: CallRecord, tool: ToolCallRecord) -> None:
        for listener in self.on_tool:
            try:
                listener(call, tool)
            except Exception:
                log.exception("a listener of tool calls failed", extra={"call_id": call.id})

    def add(self, session: CallSession) -> LiveCall:
        live = LiveCall(session, self)
        self._calls[session.call.id] = live
        session.subscribe(live)
        return live

    def remove(self, call_id: str) -> None:
        live = self._calls.pop(call_id, None)
        if live is None:
            return
        for listener in self.on_ended:
            try:
                listener(live.session.call)
            except Exception:
                log.exception("a listener of ended calls failed", extra={"call_id": call_id})

    def sessions(self) -> list[CallSession]:
        """Every call in progress, of every business and channel."""
        return [c.session for c in list(self._calls.values())]

    def of_tenant(self, tenant_id: str) -> list[LiveCall]:
        return [c for c in self._calls.values() if c.tenant_id == tenant_id]

    def get(self, tenant_id: str, call_id: str) -> LiveCall:
        live = self._calls.get(call_id)
        if live is None or live.tenant_id != tenant_id:
            raise NotFoundError(f"no call '{call_id}' in progress")
        return live

    def take_over(self, tenant_id: str, call_id: str, target: str, actor: str, allowed: TransferTargets) -> None:
        """Hand the call to a person at ``target``, which must be one of the business's ``allowed`` targets
        (``TransferRefused`` otherwise); the transport transfers it."""
        live = self.get(tenant_id, call_id)
        if not allowed.allows(target):
            live.session.log.warning(
                "take-over refused: not one of the business's transfer numbers; nothing was dialled",
                actor=actor,
                target=target,
                fix=HOW_TO_ALLOW,
            )
            raise TransferRefused(target)
        live.session.log.info("staff took the call over", actor=actor, target=target)
        live.session.bus.publish(TransferRequested(target, f"taken over by {actor}"))

    def end(self, tenant_id: str, call_id: str, actor: str) -> None:
        live = self.get(tenant_id, call_id)
        live.session.log.info("staff ended the call", actor=actor)
        live.session.bus.publish(HangupRequested(f"ended by {actor}"))
