"""The pjsua2 objects: one account per trunk, one call object per call, one audio port per call.

Their callbacks run on pjsua2's threads. Each does the least it can: read what it needs from pjsua2 into plain
data and hand it to the event loop (``Host.emit``). The media port's callbacks run on the media clock thread,
fifty times a second per call, and only touch a deque (see ``sip.media``).
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol

import pjsua2 as pj

from sip.events import Digit, Ended, Forbidden, MediaReady, Offered, Refusal, Registration, SipEvent, TransferProgress
from sip.frames import read_bytes
from sip.media import MediaQueues
from sip.registration import challenge_realm

_DECLINE = 603
_FROM = re.compile(r"^(?:From|f)\s*:\s*(.*?)\s*$", re.I | re.M)
_TO = re.compile(r"^(?:To|t)\s*:\s*(.*?)\s*$", re.I | re.M)
_CALL_ID = re.compile(r"^(?:Call-ID|i)\s*:\s*(.*?)\s*$", re.I | re.M)


class Host(Protocol):
    """What the objects need from the engine that owns them."""

    def emit(self, event: SipEvent) -> None: ...

    def admit(self, call: PjCall, offer: Offered) -> None:
        """Decide what to do with a new call, do it, and tell the event loop."""
        ...

    def screen(self, source: str) -> int:
        """0 when a call may come from ``source`` (address:port) now, else the code to refuse it with."""
        ...

    def forbid(self, account: TrunkAccount, call_id: int, refused: Forbidden) -> None:
        """Refuse the new call ``call_id`` with ``refused.code``, without setting a call up; tell the event loop."""
        ...

    def adopt(self, call: PjCall) -> int: ...

    def forget(self, handle: int) -> None: ...

    def learn_realm(self, trunk: str, realm: str) -> None:
        """The registrar challenged with ``realm``: answer that realm from now on, and register again."""
        ...


class MediaPort(pj.AudioMediaPort):  # type: ignore[misc]
    def __init__(self, queues: MediaQueues) -> None:
        super().__init__()
        self._q = queues

    def onFrameReceived(self, frame: Any) -> None:
        self._q.inbox.append(read_bytes(frame.buf))

    def onFrameRequested(self, frame: Any) -> None:
        q = self._q
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        try:
            frame.buf = q.outbox.popleft()
        except IndexError:
            frame.buf = q.fallback
            q.fallback = q.silence
            q.underruns += 1
        frame.size = q.frame_bytes


class PjCall(pj.Call):  # type: ignore[misc]
    def __init__(self, account: TrunkAccount, call_id: int, host: Host) -> None:
        super().__init__(account, call_id)
        self._host = host
        self.handle = host.adopt(self)
        self.port: MediaPort | None = None
        self.offer: Offered | None = None  # the INVITE that began the call
        self._media_reported = False

    def attach(self, queues: MediaQueues, rate: int) -> None:
        """Create the call's audio port now; it is connected once the media is up."""
        port = MediaPort(queues)
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, rate, 1, 20000, 16)
        port.createPort(f"call{self.handle}", fmt)
        self.port = port

    def onCallState(self, prm: Any) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            duration = info.connectDuration
            connected = duration.sec + duration.msec / 1000
            self._host.emit(Ended(self.handle, info.lastStatusCode, info.lastReason, connected))
            self._host.forget(self.handle)

    def onCallMediaState(self, prm: Any) -> None:
        info = self.getInfo()  # kept in a variable: iterating getInfo().media directly reads freed memory
        media = info.media
        for item in media:
            if item.type != pj.PJMEDIA_TYPE_AUDIO or item.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            audio = self.getAudioMedia(item.index)
            if self.port is not None:
                audio.startTransmit(self.port)
                self.port.startTransmit(audio)
            if not self._media_reported:
                self._media_reported = True
                stream = self.getStreamInfo(item.index)
                self._host.emit(MediaReady(self.handle, stream.codecName, stream.codecClockRate))

    def onDtmfDigit(self, prm: Any) -> None:
        method = "info" if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO else "rfc4733"
        self._host.emit(Digit(self.handle, str(prm.digit), method))

    def onCallTransferStatus(self, prm: Any) -> None:
        self._host.emit(TransferProgress(self.handle, prm.statusCode, prm.reason, prm.finalNotify))
        prm.cont = True

    def onCallTransferRequest(self, prm: Any) -> None:
        """A REFER from the caller. Left to itself PJSIP accepts it and dials the Refer-To target from the trunk's
        account, with the trunk's credentials: toll fraud on anyone's say-so. The box's transfers are the ones
        the flow decides and sends (``xfer``); one asked of it is declined, and the call goes on."""
        prm.statusCode = _DECLINE
        self._refuse("refer", self.offer.source if self.offer else "", str(prm.dstUri))

    def onCallReplaceRequest(self, prm: Any) -> None:
        """An INVITE asking to take this call over (Replaces): whoever sends it would have the caller, or the
        assistant, to themself. Declined; this call goes on."""
        prm.statusCode = _DECLINE
        prm.reason = "Decline"
        rdata = prm.rdata
        sender = _FROM.search(str(rdata.wholeMsg))
        self._refuse("replaces", str(rdata.srcAddress), sender.group(1) if sender else "")

    def _refuse(self, reason: Literal["refer", "replaces"], source: str, target: str) -> None:
        offer = self.offer
        call_id, caller = (offer.call_id, offer.from_uri) if offer else ("", "")
        self._host.emit(Refusal(self.handle, reason, _DECLINE, call_id, source, caller, target))


class TrunkAccount(pj.Account):  # type: ignore[misc]
    def __init__(self, name: str, host: Host, *, learning: bool) -> None:
        super().__init__()
        self.name = name
        self._host = host
        self.learning = learning  # no credentials yet: the registrar's first challenge names the realm

    def onRegState(self, prm: Any) -> None:
        if self.learning and prm.code in (401, 407):
            realm = challenge_realm(str(prm.rdata.wholeMsg))
            if realm is not None:  # a step of registering, not a failure: the engine registers again
                self.learning = False
                self._host.learn_realm(self.name, realm)
                return
        self._host.emit(Registration(self.name, prm.code, prm.reason, prm.expiration))

    def onIncomingCall(self, prm: Any) -> None:
        rdata = prm.rdata
        source = str(rdata.srcAddress)
        message = str(rdata.wholeMsg)
        request_line = message.split("\r\n", 1)[0].split("\n", 1)[0]
        parts = request_line.split()
        refusal = self._host.screen(source)
        if refusal:
            headers = [_header(pattern, message) for pattern in (_CALL_ID, _FROM, _TO)]
            request_uri = parts[1] if len(parts) == 3 else ""
            refused = Forbidden(refusal, source, headers[0], request_uri, headers[1], headers[2])
            self._host.forbid(self, prm.callId, refused)
            return
        call = PjCall(self, prm.callId, self._host)
        info = call.getInfo()
        offer = Offered(
            handle=call.handle,
            trunk=self.name,
            call_id=info.callIdString,
            request_uri=parts[1] if len(parts) == 3 else "",
            from_uri=info.remoteUri,
            to_uri=info.localUri,
            source=source,
        )
        call.offer = offer
        self._host.admit(call, offer)


def _header(pattern: re.Pattern[str], message: str) -> str:
    found = pattern.search(message.split("\r\n\r\n", 1)[0])
    return found.group(1) if found else ""
