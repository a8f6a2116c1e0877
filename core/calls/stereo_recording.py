"""A call's audio as a stereo WAV: the caller on the left channel, the assistant on the right.

The transport hands over each 20 ms frame of both directions as it passes; a worker thread writes them, so the
media path never waits on the disk. A write that fails stops the recording (and says so), never the call.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import soundfile
import structlog

from models.interfaces import Pcm16

_WRITE_EVERY_S = 1.0


class StereoRecording:
    def __init__(self, path: Path, rate: int, log: structlog.stdlib.BoundLogger) -> None:
        self.path = path
        self._rate = rate
        self._log = log
        self._left: list[Pcm16] = []
        self._right: list[Pcm16] = []
        self._left_n = self._right_n = 0
        self._file: soundfile.SoundFile | None = None
        self._writing: asyncio.Task[None] | None = None
        self._failed = False
        self.seconds = 0.0

    def caller(self, pcm: Pcm16) -> None:
        self._left.append(pcm)
        self._left_n += pcm.size
        self._maybe_write()

    def assistant(self, pcm: Pcm16) -> None:
        self._right.append(pcm)
        self._right_n += pcm.size

    async def close(self) -> None:
        """Write what is left (the shorter channel padded with silence) and close the file."""
        if self._writing is not None:
            await self._writing
        frames = self._take(max(self._left_n, self._right_n))
        if not self._failed:
            await asyncio.to_thread(self._write, frames, True)

    def _maybe_write(self) -> None:
        ready = min(self._left_n, self._right_n)
        if self._failed or ready < self._rate * _WRITE_EVERY_S or (self._writing and not self._writing.done()):
            return
        frames = self._take(ready)
        self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, frames, False))

    def _take(self, samples: int) -> Pcm16:
        left, self._left, self._left_n = _split(self._left, samples)
        right, self._right, self._right_n = _split(self._right, samples)
        return np.stack([left, right], axis=1)

    def _write(self, frames: Pcm16, last: bool) -> None:
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = soundfile.SoundFile(
                    str(self.path), "w", samplerate=self._rate, channels=2, subtype="PCM_16", format="WAV"
                )
            self._file.write(frames)
            self.seconds += len(frames) / self._rate
            if last:
                self._file.close()
        except (OSError, soundfile.LibsndfileError, RuntimeError) as exc:
            self._failed = True
            self._log.error("call recording failed; the call goes on unrecorded", path=str(self.path), error=str(exc))


def _split(chunks: list[Pcm16], samples: int) -> tuple[Pcm16, list[Pcm16], int]:
    """The first ``samples`` of the chunks (zero-padded if short), the rest, and how many samples the rest holds."""
    whole = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    head = whole[:samples]
    if head.size < samples:
        head = np.concatenate([head, np.zeros(samples - head.size, dtype=np.int16)])
    rest = whole[samples:]
    return head, ([rest] if rest.size else []), int(rest.size)
