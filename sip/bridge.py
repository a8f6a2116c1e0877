"""One call's audio on the event loop's side, once every 20 ms: caller frames from the inbox into the line, the
assistant's audio from the line into the outbox, both levelled for the phone line (the ``Line`` passes them on to
the call and, when the tenant records calls, into the recording).

The outbox is kept a few frames ahead of the media clock. When the loop is late and the clock thread has to play
the fallback (see ``sip.media``), the lead grows by a frame, up to ``_MAX_LEAD``: a small adaptive jitter
buffer on the sending side. Late or missing RTP from the caller is pjmedia's jitter buffer's and PLC's job.
"""

from __future__ import annotations

import numpy as np
import pjsua2 as pj

from core.calls.line import Line
from sip.levels import Declicker, LevelNormaliser
from sip.media import MediaQueues

_START_LEAD = 3
_MAX_LEAD = 10
TAIL_S = 0.3  # after the last frame leaves: what is still in jitter buffers on the way reaches the caller


class MediaBridge:
    def __init__(self, queues: MediaQueues, line: Line) -> None:
        self.queues = queues
        self.line = line
        self._in_level = LevelNormaliser(max_gain_db=12.0)
        self._out_level = LevelNormaliser(max_gain_db=6.0)
        self._declick = Declicker(queues.rate)
        self._silence = np.zeros(queues.samples, dtype=np.int16)
        self._lead = _START_LEAD
        self._underruns_seen = 0
        self.frames_out = 0
        self.frames_in = 0

    def tick(self) -> None:
        self._receive()
        self._send()

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
            self.line.hear(pcm)

    def _send(self) -> None:
        q = self.queues
        if q.underruns != self._underruns_seen:
            self._underruns_seen = q.underruns
            self._lead = min(_MAX_LEAD, self._lead + 1)
            self._declick.gap()
        while len(q.outbox) < self._lead:
            audio = self.line.play(q.samples, ahead=len(q.outbox))
            pcm = self._silence if audio is None else self._out_level(audio)
            pcm = self._declick(pcm)
            q.outbox.append(pj.ByteVector(pcm.tobytes()))
            self.frames_out += 1
            q.fallback = pj.ByteVector(self._declick.fade_out(q.samples).tobytes()) if self._declick.last else q.silence
            self.line.sent(pcm)
