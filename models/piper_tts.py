"""Text to speech with Piper (ONNX), one sentence at a time so the first audio is ready early."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
from piper import PiperVoice, SynthesisConfig

from models.errors import ModelError
from models.interfaces import Pcm16

# Leave headroom: every sentence is peak-normalised, and resampling to the phone rate can overshoot.
_PEAK = 0.7


class PiperTts:
    def __init__(self, path: Path, use_cuda: bool) -> None:
        config = path.with_name(path.name + ".json")
        if not config.is_file():
            raise ModelError(f"models.tts: {path} has no voice config beside it ({config.name})")
        self._voice = PiperVoice.load(path, config_path=config, use_cuda=use_cuda)
        self._config = SynthesisConfig(normalize_audio=False)
        self.sample_rate: int = self._voice.config.sample_rate
        self.voice = path.stem
        # espeak-ng, which turns text into phonemes, keeps global state; the ONNX session does not.
        self._phonemize_lock = threading.Lock()

    async def stream(self, text: str) -> AsyncIterator[Pcm16]:
        sentences = await asyncio.to_thread(self._phonemize, text)
        for phonemes in sentences:
            if phonemes:
                yield await asyncio.to_thread(self._synthesize, phonemes)

    def _phonemize(self, text: str) -> list[list[str]]:
        with self._phonemize_lock:
            return self._voice.phonemize(text)

    def _synthesize(self, phonemes: list[str]) -> Pcm16:
        ids = self._voice.phonemes_to_ids(phonemes)
        audio = np.asarray(self._voice.phoneme_ids_to_audio(ids, self._config), dtype=np.float32)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 1e-6:
            audio = audio * (_PEAK / peak)
        return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
