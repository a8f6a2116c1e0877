"""One call's audio on the event loop's side, once every 20 ms: caller frames from the inbox into the call,
the assistant's audio from the playout buffer into the outbox, both levelled for the line and, when the tenant
records calls, into the recording.

The outbox is kept a few frames ahead of the media clock. When the loop is late and the clock thread has to play
the fallback (see ``sip.media``), the lead grows by a frame, up to ``_MAX_LEAD``: a small adaptive jitter
buffer on the sending side. Late or missing RTP from the caller is pjmedia's jitter buffer's and PLC's job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pjsua2 as pj

from core.calls.playout import Playout
from core.calls.stereo_recording import StereoRecording
from models.interfaces import Pcm16
from sip.levels import Declicker, LevelNormaliser
from sip.media import MediaQueues

_START_LEAD = 3
_MAX_LEAD = 10
_TAIL_S = 0.3  # after the last frame leaves: what is still in jitter buffers on the way reaches the caller


class MediaBridge:
    def __init__(
        self,
        queues: MediaQueues,
        playout: Playout,
        feed: Callable[[Pcm16], None] | None,
        recording: StereoRecording | None = None,
    ) -> None:
        self.queues = queues
        self._playout = playout
        self._feed = feed
        self.recording = recording
        self._in_level = LevelNormaliser(max_gain_db=12.0)
        self._out_level = LevelNormaliser(max_gain_db=6.0)
        self._declick = Declicker(queues.rate)
        self._silence = np.zeros(queues.samples, dtype=np.int16)
        self._lead = _START_LEAD
        self._underruns_seen = 0
        self._last_audio = 0  # the number of the last frame that carried the assistant's voice
        self.frames_out = 0
        self.frames_in = 0

    def tick(self) -> None:
        self._receive()
        self._send()

    @property
    def drained(self) -> bool:
        """Everything the assistant said has been handed to the line (the outbox may still hold silence)."""
        played = self.frames_out - len(self.queues.outbox)
        return self._playout.buffered_seconds == 0 and played >= self._last_audio

    async def heard(self, gone: asyncio.Event) -> None:
        """Wait until the caller has heard everything queued so far (or has gone)."""
        # Polled at the media clock's own pace: "drained" is a property of the playout buffer and the outbox,
        # which change on every tick, not an event anyone signals.
        while not gone.is_set() and not self.drained:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if not gone.is_set():
            await asyncio.sleep(_TAIL_S)

    @property
    def underruns(self) -> int:
        return self.queues.underruns

    def _receive(self) -> None:
        q = self.queues
        while q.inbox:
            raw = q.inbox.popleft()
            pcm = np.frombuffer(raw, dtype=np.int16)
            if pcm.size != q.samples:
                pcm = np.concatenate([pcm, self._silence])[: q.samples]
            pcm = self._in_level(pcm)
            self.frames_in += 1
            if self._feed is not None:
                self._feed(pcm)
            if self.recording is not None:
                self.recording.caller(pcm)

    def _send(self) -> None:
        q = self.queues
        if q.underruns != self._underruns_seen:
            self._underruns_seen = q.underruns
            self._lead = min(_MAX_LEAD, self._lead + 1)
            self._declick.gap()
        while len(q.outbox) < self._lead:
            audio = self._playout.read(q.samples)
            pcm = self._silence if audio is None else self._out_level(audio)
            pcm = self._declick(pcm)
            q.outbox.append(pj.ByteVector(pcm.tobytes()))
            self.frames_out += 1
            if audio is not None:
                self._last_audio = self.frames_out
            q.fallback = pj.ByteVector(self._declick.fade_out(q.samples).tobytes()) if self._declick.last else q.silence
            if self.recording is not None:
                self.recording.assistant(pcm)
