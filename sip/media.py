"""The hand-over point between pjsua2's media clock thread and the event loop, for one call.

The clock thread only appends received frames to ``inbox`` and pops frames to send from ``outbox`` (deque
operations are atomic); everything else — decoding, levels, the call itself — happens on the event loop, which
keeps ``outbox`` a few frames ahead. If the loop falls behind, the clock thread plays ``fallback`` once (a
short fade from the last sample sent, so the gap does not click) and silence after it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pjsua2 as pj

from core.audio import frame_samples


class MediaQueues:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.samples = frame_samples(rate)
        self.frame_bytes = 2 * self.samples
        self.inbox: deque[bytes] = deque(maxlen=500)  # 10 s: a loop stalled longer than that loses the oldest
        self.outbox: deque[Any] = deque()  # pj.ByteVector, ready to hand to pjsua2 as they are
        self.silence: Any = pj.ByteVector(self.frame_bytes)
        self.fallback: Any = self.silence
        self.underruns = 0
