"""A call that arrives when every line is taken, and whose tenant chose a message over a busy signal: answered,
told the lines are busy, hung up, and kept in the call list so the business knows it missed a caller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from core.calls.line import Line
from core.calls.playout import Playout
from core.records import CallRecord
from core.store.calls import CallRepository
from core.store.database import new_id, utcnow
from models.errors import ModelError
from models.interfaces import Pcm16
from sip.bridge import TAIL_S, MediaBridge
from sip.dialplan import user_of
from sip.engine import PjEngine, SipError
from sip.events import Digit, Ended, MediaReady, Offered, Released, TransferProgress
from sip.media import MediaQueues

BUSY_REASON = "all lines were busy"
_LONGEST_S = 30.0


def missed_call(tenant_id: str, did: str, caller_uri: str, details: dict[str, Any], why: str) -> CallRecord:
    """The record of a caller who never reached the assistant because every line was busy."""
    now = utcnow()
    return CallRecord(
        id=new_id("call"),
        tenant_id=tenant_id,
        assistant_id="default",
        channel="sip",
        caller=user_of(caller_uri) or None,
        callee=did,
        started_at=now,
        ended_at=now,
        duration_s=0.0,
        status="ended",
        outcome="busy",
        end_reason=f"{BUSY_REASON} ({why})",
        meta={"sip": details},
    )


async def store_missed_call(calls: CallRepository, record: CallRecord, log: structlog.stdlib.BoundLogger) -> None:
    def write() -> None:
        calls.start(record)
        calls.finish(record)

    try:
        await asyncio.to_thread(write)
    except Exception:  # the caller is gone either way; the operator learns the record is missing
        log.exception("could not store the missed call")


class BusyLine:
    def __init__(
        self,
        *,
        engine: PjEngine,
        calls: CallRepository,
        offer: Offered,
        tenant_id: str,
        did: str,
        details: dict[str, Any],
        message: Callable[[], Awaitable[Pcm16]],
        rate: int,
    ) -> None:
        self.ref = offer.handle
        self._engine = engine
        self._calls = calls
        self._offer = offer
        self._tenant_id = tenant_id
        self._did = did
        self.details = details
        self._message = message
        self.queues = MediaQueues(rate)
        self._playout = Playout(rate)
        self.bridge: MediaBridge | None = None
        self._gone = asyncio.Event()
        self.log: structlog.stdlib.BoundLogger = structlog.get_logger("sip").bind(
            sip_call_id=offer.call_id, tenant=tenant_id
        )

    async def run(self) -> None:
        started = utcnow()
        try:
            message = await self._message()
        except ModelError as exc:
            self.log.error("the busy message could not be spoken; refusing with 486 instead", error=str(exc))
            with contextlib.suppress(SipError):
                await self._engine.reject(self.ref, 486, "Busy Here")
            record = missed_call(self._tenant_id, self._did, self._offer.from_uri, self.details, "refused with 486")
            await store_missed_call(self._calls, record, self.log)
            return
        try:
            await self._engine.answer(self.ref, self.queues)
        except SipError as exc:
            self.log.warning("could not answer the call; the caller may have hung up", error=str(exc))
            return
        line = Line(self._playout, gone=self._gone, tail_s=TAIL_S)
        self.bridge = MediaBridge(self.queues, line)
        self._playout.write(message)
        await line.heard(within_s=_LONGEST_S)
        if not self._gone.is_set():
            self.details["hangup_by"] = "appliance"
            with contextlib.suppress(SipError):
                await self._engine.hangup(self.ref)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._gone.wait(), 3.0)
        self.bridge = None
        record = missed_call(self._tenant_id, self._did, self._offer.from_uri, self.details, "told so")
        record.started_at = started
        record.duration_s = round((record.ended_at - started).total_seconds(), 2) if record.ended_at else 0.0
        await store_missed_call(self._calls, record, self.log)

    def tick(self) -> None:
        if self.bridge is not None:
            self.bridge.tick()

    def on_media(self, event: MediaReady) -> None:
        self.details["codec"] = f"{event.codec}/{event.clock_rate}"

    def on_digit(self, event: Digit) -> None:
        """Keys do nothing on a busy message."""

    def on_transfer(self, event: TransferProgress) -> None:
        """No transfer is ever started from a busy message."""

    def on_released(self, event: Released) -> None:
        self.details["hangup_by"] = "appliance"
        self.details["released"] = event.reason

    def on_ended(self, event: Ended) -> None:
        self.details["hangup_cause"] = f"{event.code} {event.reason}".strip()
        self.details.setdefault("hangup_by", "caller")
        self._gone.set()

    async def shutdown(self) -> None:
        with contextlib.suppress(SipError):
            await self._engine.hangup(self.ref)
