"""Audio levels for a phone line, frame by frame: a slow automatic gain toward a speech level, a peak limit, and
ramps wherever the signal would otherwise jump (audio cut off, or resuming after a gap), which a listener hears
as a click."""

from __future__ import annotations

import numpy as np

from models.interfaces import Pcm16

_FULL_SCALE = 32768.0


def _db(value: float) -> float:
    return float(10 ** (value / 20))


class LevelNormaliser:
    """Moves the level of speech toward ``target_dbfs`` (RMS), never amplifying by more than ``max_gain_db`` and
    never touching frames quieter than ``gate_dbfs`` (line noise stays as quiet as it was). The gain changes
    smoothly within each frame, and peaks are held under ``peak_dbfs``."""

    def __init__(
        self,
        *,
        target_dbfs: float = -20.0,
        max_gain_db: float = 12.0,
        min_gain_db: float = -12.0,
        gate_dbfs: float = -45.0,
        peak_dbfs: float = -1.0,
    ) -> None:
        self._target = _db(target_dbfs) * _FULL_SCALE
        self._max, self._min = _db(max_gain_db), _db(min_gain_db)
        self._gate = _db(gate_dbfs) * _FULL_SCALE
        self._peak = _db(peak_dbfs) * _FULL_SCALE
        self.gain = 1.0

    def __call__(self, pcm: Pcm16) -> Pcm16:
        if pcm.size == 0:
            return pcm
        x = pcm.astype(np.float32)
        rms = float(np.sqrt(np.mean(x * x)))
        previous = self.gain
        if rms > self._gate:
            wanted = min(self._max, max(self._min, self._target / rms))
            # Down quickly (a loud caller must not clip for long), up slowly (no pumping between words).
            rate = 0.3 if wanted < self.gain else 0.05
            self.gain += (wanted - self.gain) * rate
        peak = float(np.max(np.abs(x))) * self.gain
        if peak > self._peak:
            self.gain *= self._peak / peak
        y = x * np.linspace(previous, self.gain, x.size, dtype=np.float32)
        return np.clip(y, -_FULL_SCALE, _FULL_SCALE - 1).astype(np.int16)


class Declicker:
    """Keeps a stream continuous: when a frame starts far from where the last one ended, its first few
    milliseconds are blended in from the last sample. ``fade_out()`` is the frame to play if the next one is
    late: the last sample ramped down to silence."""

    def __init__(self, rate: int, ramp_ms: float = 4.0, threshold: int = 512) -> None:
        self._ramp = max(2, int(rate * ramp_ms / 1000))
        self._threshold = threshold
        self.last = 0

    def __call__(self, pcm: Pcm16) -> Pcm16:
        if pcm.size == 0:
            return pcm
        if abs(int(pcm[0]) - self.last) > self._threshold:
            n = min(self._ramp, pcm.size)
            weight = np.linspace(0.0, 1.0, n, endpoint=False, dtype=np.float32)
            pcm = pcm.copy()
            pcm[:n] = (self.last * (1 - weight) + pcm[:n].astype(np.float32) * weight).astype(np.int16)
        self.last = int(pcm[-1])
        return pcm

    def fade_out(self, samples: int) -> Pcm16:
        out = np.zeros(samples, dtype=np.int16)
        n = min(self._ramp, samples)
        out[:n] = (self.last * np.linspace(1.0, 0.0, n, endpoint=False, dtype=np.float32)).astype(np.int16)
        return out

    def gap(self) -> None:
        """The line played silence (or a fade to it): the next frame starts from zero."""
        self.last = 0
