"""A call's recording: what the caller said and what the assistant played, as a WAV at the line's rate. A phone
call keeps the two sides apart (caller left, assistant right); a browser call mixes them into one mono channel.

The transport hands over each frame of both directions as it passes, with its place on the call's clock when the
two directions run on different clocks (or left out when each side's frames simply follow one another). A worker
thread writes them, so the media path never waits on the disk. A write that fails stops the recording (and says
so), never the call.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import soundfile
import structlog

from core.records import CallRecord
from models.interfaces import Pcm16

_WRITE_EVERY_S = 1.0


def recording_name(call: CallRecord) -> str:
    """Where a call's recording lies under the recordings folder: what the call record keeps, and what retention
    purges."""
    return f"{call.tenant_id}/{call.id}.wav"


class _Side:
    """One direction's audio, in order, with silence where the transport left a gap."""

    def __init__(self) -> None:
        self.chunks: list[Pcm16] = []
        self.pending = 0  # samples held, not yet written
        self.end = 0  # where the last frame ended, in samples since the call began

    def add(self, pcm: Pcm16, at: int | None) -> None:
        # A side's frames never overlap: one that claims to start early starts where the last one ended.
        gap = 0 if at is None else max(0, at - self.end)
        if gap:
            self.chunks.append(np.zeros(gap, dtype=np.int16))
        self.chunks.append(pcm.copy())
        self.pending += gap + pcm.size
        self.end += gap + pcm.size

    def take(self, samples: int) -> Pcm16:
        """The first ``samples`` held, padded with silence if fewer are."""
        whole = np.concatenate(self.chunks) if self.chunks else np.zeros(0, dtype=np.int16)
        head, rest = whole[:samples], whole[samples:]
        if head.size < samples:
            head = np.concatenate([head, np.zeros(samples - head.size, dtype=np.int16)])
        self.chunks = [rest] if rest.size else []
        self.pending = int(rest.size)
        return head


class CallRecording:
    def __init__(self, path: Path, rate: int, log: structlog.stdlib.BoundLogger, *, mixed: bool = False) -> None:
        """``mixed``: both sides in one mono channel rather than the caller left and the assistant right."""
        self.path = path
        self._rate = rate
        self._log = log
        self._channels = 1 if mixed else 2
        self._caller = _Side()
        self._assistant = _Side()
        self._file: soundfile.SoundFile | None = None
        self._writing: asyncio.Task[None] | None = None
        self._failed = False
        self.seconds = 0.0
        self._silenced: list[tuple[int, int]] = []  # stretches of the caller's side, in samples

    @classmethod
    def of(
        cls, recordings: Path, call: CallRecord, rate: int, log: structlog.stdlib.BoundLogger, *, mixed: bool = False
    ) -> CallRecording:
        """The recording of ``call``, in its place under the recordings folder."""
        return cls(recordings / recording_name(call), rate, log, mixed=mixed)

    def caller(self, pcm: Pcm16, at: int | None = None) -> None:
        """A frame of the caller's audio; ``at``: where it starts, in samples since the call began."""
        self._caller.add(pcm, at)
        self._maybe_write()

    def assistant(self, pcm: Pcm16, at: int | None = None) -> None:
        """A frame of what the caller heard from the assistant; ``at`` as for ``caller``."""
        self._assistant.add(pcm, at)

    def silence(self, start_s: float, end_s: float) -> None:
        """The caller's side from ``start_s`` to ``end_s`` (seconds since the call began) is to be silence: they
        read out card details there. Applied when the recording is closed, since that audio is usually written
        by the time the words are transcribed."""
        self._silenced.append((int(start_s * self._rate), int(end_s * self._rate)))

    async def close(self) -> bool:
        """Write what is left (the shorter side padded with silence) and close the file; whether there is one."""
        if self._writing is not None:
            await self._writing
        samples = max(self._caller.pending, self._assistant.pending)
        if not self._failed and (samples or self._file is not None):
            await asyncio.to_thread(self._write, self._take(samples), True)
        if self._file is not None and self._silenced:
            await asyncio.to_thread(self._blank)
        return self._file is not None

    def _blank(self) -> None:
        """Overwrite the silenced stretches in the closed file: the caller's channel, or the one mixed channel."""
        try:
            with soundfile.SoundFile(str(self.path), "r+") as wav:
                for start, end in self._silenced:
                    start, end = max(0, start), min(end, wav.frames)
                    if end <= start:
                        continue
                    wav.seek(start)
                    frames = wav.read(end - start, dtype="int16", always_2d=True)
                    frames[:, 0] = 0
                    wav.seek(start)
                    wav.write(frames)
        except (OSError, soundfile.LibsndfileError, RuntimeError) as exc:
            # Nothing of it may be kept then: a recording that holds a card number is worse than none.
            self._log.error("could not silence card details in the recording; it is deleted", error=str(exc))
            self.path.unlink(missing_ok=True)
            self._file = None

    def _maybe_write(self) -> None:
        ready = min(self._caller.pending, self._assistant.pending)
        if self._failed or ready < self._rate * _WRITE_EVERY_S or (self._writing and not self._writing.done()):
            return
        frames = self._take(ready)
        self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, frames, False))

    def _take(self, samples: int) -> Pcm16:
        caller, assistant = self._caller.take(samples), self._assistant.take(samples)
        if self._channels == 2:
            return np.stack([caller, assistant], axis=1)
        mixed: Pcm16 = np.clip(caller.astype(np.int32) + assistant, -32768, 32767).astype(np.int16)
        return mixed

    def _write(self, frames: Pcm16, last: bool) -> None:
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = soundfile.SoundFile(
                    str(self.path), "w", samplerate=self._rate, channels=self._channels, subtype="PCM_16", format="WAV"
                )
            self._file.write(frames)
            self.seconds += len(frames) / self._rate
            if last:
                self._file.close()
        except (OSError, soundfile.LibsndfileError, RuntimeError) as exc:
            self._failed = True
            self._log.error("call recording failed; the call goes on unrecorded", path=str(self.path), error=str(exc))
