"""Calls from a browser over WebRTC (aiortc): the caller's microphone feeds a ``CallSession`` and the
assistant's playout buffer is the track the browser hears, as ``core.calls.simulate`` does with a file.

Signalling is one request: the browser sends its offer with every ICE candidate gathered, and gets back the
answer with ours. The call's line rate is 16 kHz (wideband: better for speech recognition than 8 kHz phones).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import aioice.ice
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, AudioResampler

from core.audio import frame_samples
from core.calls.line import Line
from core.calls.recording import CallRecording
from core.calls.session import CallSession
from core.errors import InputError
from core.events import TransferRequested

log = logging.getLogger("appliance.webrtc")

RATE = 16000
_FRAME = frame_samples(RATE)
_CONNECT_TIMEOUT_S = 20.0
_DRAIN_LIMIT_S = 8.0  # a reply still being spoken when the call is handed over or ended is cut off after this


def restrict_ice_addresses(addresses: Sequence[str]) -> None:
    """Offer only these host addresses. aioice leaves out loopback and has no option for it, so its address
    lookup is replaced, process-wide: the setting applies to every browser call of this process."""
    if addresses:
        chosen = list(addresses)
        aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(chosen)


class _PlayoutTrack(MediaStreamTrack):
    """What the browser hears: the session's playout buffer, 20 ms at a time, paced by the wall clock."""

    kind = "audio"

    def __init__(self, call: BrowserCall) -> None:
        super().__init__()
        self._call = call
        self._sent = 0
        self._start: float | None = None
        self._silence = np.zeros(_FRAME, dtype=np.int16)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._sent += _FRAME
            await asyncio.sleep(max(0.0, self._start + self._sent / RATE - now))
        line = self._call.line
        pcm = line.play(_FRAME)
        if pcm is None:
            pcm = self._silence
        else:
            line.sent(pcm, self._call.clock_sample(self._start) + self._sent)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        return frame


class BrowserCall:
    def __init__(self, session: CallSession, recordings: Path, on_closed: Callable[[BrowserCall], None]) -> None:
        if session.rate != RATE:
            raise InputError(f"a browser call runs at {RATE} Hz")
        self.session = session
        # Every browser call is recorded, both sides in one channel. Once handed over or ending, the caller is
        # not listened to: what is left is for them to hear the last words.
        recording = CallRecording.of(recordings, session.call, RATE, session.log, mixed=True)
        self.line = Line.of(session, recording=recording, deaf_while_leaving=True)
        self._on_closed = on_closed
        # No STUN or TURN server: the browser is on the box's own network. (aiortc's default would ask a public
        # STUN server, which an appliance must not reach out to, and which delays the answer when unreachable.)
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._origin = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._finished = asyncio.Event()
        self._finishing = False

    @property
    def call_id(self) -> str:
        return self.session.call.id

    def clock_sample(self, at: float) -> int:
        """Where a moment (``time.monotonic()``) falls in the recording, in samples since the call was answered."""
        return max(0, round((at - self._origin) * RATE))

    async def answer(self, sdp: str, kind: str) -> RTCSessionDescription:
        if kind != "offer" or "m=audio" not in sdp:
            raise InputError("send an SDP offer with an audio section")
        pc = self._pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self._tasks.append(asyncio.create_task(self._listen(track), name="webrtc-listen"))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            self.session.log.info("browser connection", state=pc.connectionState)
            if pc.connectionState == "connected":
                self._connected.set()
            if pc.connectionState in ("failed", "closed"):
                await self.finish("the browser connection " + pc.connectionState)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except ValueError as exc:
            await self.finish("the browser's offer was refused")
            raise InputError(f"the SDP offer cannot be used: {exc}") from None
        pc.addTrack(_PlayoutTrack(self))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.session.start()
        self._tasks.append(asyncio.create_task(self._connect(), name="webrtc-connect"))
        self._tasks.append(asyncio.create_task(self._leave(), name="webrtc-leave"))
        return pc.localDescription

    async def _listen(self, track: MediaStreamTrack) -> None:
        """The caller's microphone, whatever its rate and layout, as 20 ms mono frames at the line's rate."""
        resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = np.zeros(0, dtype=np.int16)
        position: int | None = None
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                break
            if position is None:
                position = self.clock_sample(time.monotonic())
            for out in resampler.resample(frame):  # type: ignore[arg-type]
                pending = np.concatenate([pending, out.to_ndarray().reshape(-1).astype(np.int16)])
            while pending.size >= _FRAME:
                chunk, pending = pending[:_FRAME], pending[_FRAME:]
                self.line.hear(chunk, position)
                position += _FRAME
        await self.finish("the caller hung up")

    async def _connect(self) -> None:
        """Ends the call when the media never connects."""
        try:
            await asyncio.wait_for(self._connected.wait(), _CONNECT_TIMEOUT_S)
        except TimeoutError:
            await self.finish("the browser's media never connected")

    async def _leave(self) -> None:
        """Ends the call once a handover or goodbye has been played."""
        await self.line.leaving.wait()
        request = self.line.request
        # The session keeps what it asked for until the line stays, which this one never does.
        assert request is not None
        await self.line.heard(finished=True, within_s=_DRAIN_LIMIT_S)
        if isinstance(request, TransferRequested):
            self.session.log.info("a browser call cannot be transferred; ending it", target=request.target)
        await self.finish(request.reason)

    async def finish(self, reason: str) -> None:
        if self._finishing:
            await self._finished.wait()
            return
        self._finishing = True
        try:
            current = asyncio.current_task()
            for task in self._tasks:
                if task is not current:
                    task.cancel()
            with contextlib.suppress(Exception):
                await self._pc.close()
            self.line.gone.set()
            await self.line.close()
            await self.session.end(reason, wait=False)
        finally:
            self._finished.set()
            self._on_closed(self)


class BrowserCalls:
    """The browser calls in progress, so a hangup request can find its call and shutdown can end them all."""

    def __init__(self, recordings: Path, ice_addresses: Sequence[str]) -> None:
        self._recordings = recordings
        self._calls: dict[str, BrowserCall] = {}
        restrict_ice_addresses(ice_addresses)

    async def answer(
        self, session: CallSession, sdp: str, kind: str, on_closed: Callable[[], None] = lambda: None
    ) -> tuple[str, RTCSessionDescription]:
        """``on_closed`` is called once the call has ended, however it ends (a failed set-up too)."""
        call = BrowserCall(session, self._recordings, lambda ended: self._forget(ended, on_closed))
        self._calls[call.call_id] = call
        try:
            return call.call_id, await call.answer(sdp, kind)
        except BaseException:
            await call.finish("the call could not be set up")
            raise

    def _forget(self, call: BrowserCall, on_closed: Callable[[], None]) -> None:
        self._calls.pop(call.call_id, None)
        on_closed()

    def get(self, call_id: str) -> BrowserCall | None:
        return self._calls.get(call_id)

    async def close(self) -> None:
        for call in list(self._calls.values()):
            await call.finish("the appliance is shutting down")
