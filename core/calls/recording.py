"""A call's recording: what the caller said and what the assistant played, mixed into one mono WAV at the line's
rate. The transport hands over both sides, each with its position on the call's clock, since the two directions
run on different clocks and may start at different moments."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.audio import write_wav
from models.interfaces import Pcm16


class Recording:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._caller: list[tuple[int, Pcm16]] = []
        self._assistant: list[tuple[int, Pcm16]] = []

    def caller(self, pcm: Pcm16, at_sample: int) -> None:
        self._caller.append((at_sample, pcm.copy()))

    def assistant(self, pcm: Pcm16, at_sample: int) -> None:
        self._assistant.append((at_sample, pcm.copy()))

    def mix(self) -> Pcm16:
        pieces = self._caller + self._assistant
        if not pieces:
            return np.zeros(0, dtype=np.int16)
        length = max(at + pcm.size for at, pcm in pieces)
        mixed = np.zeros(length, dtype=np.int32)
        for at, pcm in pieces:
            mixed[at : at + pcm.size] += pcm
        return np.clip(mixed, -32768, 32767).astype(np.int16)

    def save(self, recordings: Path, tenant_id: str, call_id: str) -> str | None:
        """Write the WAV; returns its name relative to ``recordings`` (what the call record keeps)."""
        audio = self.mix()
        if not audio.size:
            return None
        name = f"{tenant_id}/{call_id}.wav"
        write_wav(recordings / name, audio, self.rate)
        return name
