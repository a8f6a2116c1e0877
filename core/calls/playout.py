"""The assistant's audio waiting to be sent to the caller, read by the transport one frame at a time.

Written from the event loop, read from whatever thread runs the transport's media clock, hence the lock.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from models.interfaces import Pcm16

_RECENT_S = 0.3  # how far back the level of what was played matters: line echo comes back within this


class Playout:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._chunks: deque[Pcm16] = deque()
        self._buffered = 0
        self._lock = threading.Lock()
        self.samples_played = 0
        # RMS (0..1) of the frames most recently played, for telling the caller's voice from our own echo.
        self._recent: deque[float] = deque(maxlen=max(1, int(_RECENT_S * 50)))
        self._held = False

    def write(self, pcm: Pcm16) -> None:
        if pcm.size:
            with self._lock:
                self._chunks.append(pcm)
                self._buffered += pcm.size

    def read(self, samples: int) -> Pcm16 | None:
        """The next ``samples`` of audio, padded with silence at the end; None when nothing is queued or the
        audio is held."""
        with self._lock:
            if not self._buffered or self._held:
                self._recent.append(0.0)
                return None
            out = np.zeros(samples, dtype=np.int16)
            filled = 0
            while filled < samples and self._chunks:
                chunk = self._chunks[0]
                take = min(samples - filled, chunk.size)
                out[filled : filled + take] = chunk[:take]
                filled += take
                if take == chunk.size:
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[take:]
            self._buffered -= filled
            self.samples_played += filled
            self._recent.append(float(np.sqrt(np.mean((out.astype(np.float32) / 32768.0) ** 2))))
            return out

    def flush(self) -> int:
        """Drop everything queued (the caller interrupted); returns how many samples were dropped."""
        with self._lock:
            dropped = self._buffered
            self._chunks.clear()
            self._buffered = 0
            self._held = False
            return dropped

    def hold(self, held: bool) -> None:
        """Stop sending without dropping anything (the caller may be starting to talk), or go on where it
        stopped."""
        with self._lock:
            self._held = held

    def playing(self) -> bool:
        """Audio is queued, or was heard on the line within the last few hundred milliseconds."""
        with self._lock:
            return self._buffered > 0 or any(level > 1e-4 for level in self._recent)

    def level(self) -> float:
        """The loudest of the recently played frames (RMS, 0..1)."""
        with self._lock:
            return max(self._recent, default=0.0)

    @property
    def buffered_seconds(self) -> float:
        with self._lock:
            return self._buffered / self.rate
