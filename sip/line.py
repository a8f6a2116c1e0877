"""One answered SIP call on the event loop's side: its ``CallSession``, its media bridge, and what the session
asks of the line (a transfer, a hangup), done once the caller has heard everything said before it."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from core.calls.bus import Work
from core.calls.line import Line
from core.calls.recording import CallRecording
from core.calls.session import CallSession
from core.errors import ApplianceError
from core.events import Event, HangupRequested, SayLine, TransferRequested
from core.tenants.transfers import HOW_TO_ALLOW
from sip.bridge import TAIL_S, MediaBridge
from sip.dialplan import transfer_uri, user_of
from sip.engine import PjEngine, SipError
from sip.events import Digit, Ended, MediaReady, Offered, Released, TransferProgress
from sip.media import MediaQueues

if TYPE_CHECKING:
    from core.calls.host import CallHost

TRANSFER_FAILED_LINE = (
    "I'm sorry, I couldn't put you through just now. I can take a message for the team instead. "
    "What would you like me to pass on?"
)
SHUTDOWN_LINE = (
    "I'm sorry, I have to end the call now because the system is restarting. Please call back in a few minutes. "
    "Goodbye."
)
_RELEASED = {
    "no_ack": "the caller never confirmed the answer (no ACK)",
    "no_media": "no audio came from the caller",
    "rtp_source": "another address took over the call's audio",
}
_TRANSFER_TIMEOUT_S = 30.0
_SHUTDOWN_WAIT_S = 12.0


def offer_details(offer: Offered, did: str) -> dict[str, Any]:
    """What a call's record keeps of its SIP side (``meta["sip"]``); the line adds codec, hangup and transfer."""
    return {
        "call_id": offer.call_id,
        "from": offer.from_uri,
        "to": offer.to_uri,
        "request_uri": offer.request_uri,
        "trunk": offer.trunk,
        "source": offer.source,
        "did": did,
    }


class SipLine:
    def __init__(
        self,
        *,
        engine: PjEngine,
        host: CallHost,
        offer: Offered,
        did: str,
        tenant_id: str,
        domain: str,
        queues: MediaQueues,
        recordings: Path | None,
        refusals: collections.Counter[str],
    ) -> None:
        """``refusals``: the service's counts by reason (/healthz), where a transfer refused here is counted."""
        self.ref = offer.handle
        self._refusals = refusals
        self._engine = engine
        self._host = host
        self._offer = offer
        self._did = did
        self._tenant_id = tenant_id
        self._domain = domain
        self._recordings = recordings
        self.queues = queues
        self.bridge: MediaBridge | None = None
        self.session: CallSession | None = None
        self.line: Line | None = None
        self._gone = asyncio.Event()
        self._ended_by = "caller"
        self._end_reason: str | None = None
        self.details = offer_details(offer, did)
        self.log: structlog.stdlib.BoundLogger = structlog.get_logger("sip").bind(
            sip_call_id=offer.call_id, tenant=tenant_id
        )
        self._work = Work(self.log)  # what the line does on its own: leaving the call, hanging up

    # ----- the call's life

    async def run(self) -> None:
        """The call was answered on the SIP stack's thread; from here on it is the assistant's."""
        try:
            session = self._host.new_call(
                self._tenant_id,
                channel="sip",
                caller=user_of(self._offer.from_uri) or None,
                callee=self._did,
                rate=self.queues.rate,
            )
        except ApplianceError as exc:
            self.log.error("could not start the call; hanging up", error=str(exc))
            await self._hangup()
            return
        self.session = session
        self.log = self.log.bind(call_id=session.call.id)
        session.call.meta["sip"] = self.details
        recording = None
        if session.tenant.telephony.recording and self._recordings is not None:
            recording = CallRecording.of(self._recordings, session.call, self.queues.rate, self.log)
        self.line = Line.of(session, recording=recording, gone=self._gone, tail_s=TAIL_S)
        self.bridge = MediaBridge(self.queues, self.line)
        session.subscribe(self)
        await session.start()
        await self._gone.wait()
        await self._finish()

    def tick(self) -> None:
        if self.bridge is not None:
            self.bridge.tick()

    def handle(self, event: Event) -> None:
        """A stage of the call: acts on the session's requests to move the call on."""
        if isinstance(event, TransferRequested | HangupRequested):
            self._work.spawn(self._leave(event), "sip-leave")

    async def shutdown(self) -> None:
        """The appliance is stopping: say so, hang up once it has been heard, finish the record."""
        session = self.session
        if session is None or self._gone.is_set():
            return
        self._ended_by, self._end_reason = "appliance", "the appliance shut down"
        await session.work.cancel_all()
        session.playout.flush()
        session.bus.publish(SayLine(SHUTDOWN_LINE, intent="shutdown"))
        if self.line is not None:
            await self.line.heard(finished=True, within_s=_SHUTDOWN_WAIT_S)
        await self._hangup()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gone.wait(), 3.0)
        self._gone.set()

    # ----- events from the SIP stack

    def on_media(self, event: MediaReady) -> None:
        self.details["codec"] = f"{event.codec}/{event.clock_rate}"
        self.log.info("media up", codec=self.details["codec"])

    def on_digit(self, event: Digit) -> None:
        if self.session is not None:
            self.session.dtmf(event.digit)

    def on_transfer(self, event: TransferProgress) -> None:
        transfer = self.details.setdefault("transfer", {})
        transfer["status"] = f"{event.code} {event.reason}".strip()
        self.log.info("transfer progress", code=event.code, reason=event.reason, final=event.final)
        if not event.final:
            return
        if 200 <= event.code < 300:
            transfer["result"] = "completed"
            self._ended_by, self._end_reason = "transfer", f"transferred to {transfer.get('target')}"
            self._work.spawn(self._hangup(), "sip-hangup")
        else:
            self._transfer_failed(f"{event.code} {event.reason}")

    def on_released(self, event: Released) -> None:
        """The SIP thread hung the call up: it held a line for nothing, or someone else took its audio."""
        self.details["released"] = event.reason
        self._ended_by, self._end_reason = "appliance", _RELEASED[event.reason]
        self.log.warning(
            "call hung up by the box", why=event.reason, after_s=event.after_s, source=event.source or None
        )

    def on_ended(self, event: Ended) -> None:
        self.details["hangup_cause"] = f"{event.code} {event.reason}".strip()
        self.details["hangup_by"] = self._ended_by
        self.details["connected_s"] = round(event.connected_s, 2)
        self._gone.set()

    # ----- internals

    async def _finish(self) -> None:
        session = self.session
        assert session is not None
        bridge, self.bridge = self.bridge, None
        await self._work.cancel_all()
        if self.line is not None:
            await self.line.close()
        if bridge is not None:
            self.details["frames"] = {"in": bridge.frames_in, "out": bridge.frames_out, "underruns": bridge.underruns}
        reason = self._end_reason or "the caller hung up"
        await session.end(reason, wait=False)

    async def _leave(self, event: TransferRequested | HangupRequested) -> None:
        if self.line is not None:
            await self.line.heard()
        if self._gone.is_set():
            return
        if isinstance(event, HangupRequested):
            self._ended_by, self._end_reason = "assistant", f"the assistant ended the call: {event.reason}"
            await self._hangup()
            return
        if not self._may_transfer(event.target):
            self._refuse_transfer(event)
            return
        uri = transfer_uri(event.target, self._domain)
        self.details["transfer"] = {"target": uri, "reason": event.reason, "status": "REFER sent"}
        self.log.info("transferring the call", target=uri, reason=event.reason)
        try:
            await self._engine.transfer(self.ref, uri)
        except SipError as exc:
            self._transfer_failed(f"the REFER could not be sent: {exc}")
            return
        await asyncio.sleep(_TRANSFER_TIMEOUT_S)
        if "result" not in self.details["transfer"] and not self._gone.is_set():
            self.log.warning("no final word on the transfer; ending our side of the call", seconds=_TRANSFER_TIMEOUT_S)
            self.details["transfer"]["result"] = "unknown"
            self._ended_by, self._end_reason = "transfer", f"transferred to {uri} (outcome unknown)"
            await self._hangup()

    def _may_transfer(self, target: str) -> bool:
        """The last check before the trunk dials: the target is one of the business's (as it is set up now)."""
        try:
            return self._host.tenants.transfer_targets(self._tenant_id).allows(target)
        except ApplianceError:  # the business is gone: it has no targets
            return False

    def _refuse_transfer(self, event: TransferRequested) -> None:
        self.log.warning(
            "transfer refused at the SIP edge: not one of the business's transfer numbers; no REFER sent",
            target=event.target,
            reason=event.reason,
            fix=HOW_TO_ALLOW,
        )
        self.details["transfer"] = {"target": event.target, "reason": event.reason, "status": "refused"}
        self._refusals["transfer"] += 1
        if self.session is not None:
            self._host.tenants.refused_transfer(
                self._tenant_id, self.session.call.id, event.target, actor="sip", by=event.reason
            )
        self._transfer_failed("not one of the business's transfer numbers", result="refused")

    def _transfer_failed(self, detail: str, result: str = "failed") -> None:
        self.log.warning("transfer failed; the assistant carries on", detail=detail)
        self.details.setdefault("transfer", {})["result"] = result
        session, line = self.session, self.line
        if session is not None and line is not None and not self._gone.is_set():
            line.stay()
            session.bus.publish(SayLine(TRANSFER_FAILED_LINE, intent="message"))

    async def _hangup(self) -> None:
        try:
            await self._engine.hangup(self.ref)
        except SipError as exc:
            self.log.info("hangup not sent; the call had already ended", error=str(exc))
