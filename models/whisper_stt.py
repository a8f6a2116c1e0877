"""Speech to text with faster-whisper (CTranslate2)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from faster_whisper import WhisperModel

from models.device import Device
from models.interfaces import Float32, Transcription


class WhisperStt:
    sample_rate = 16_000

    def __init__(self, path: Path, device: Device, threads: int) -> None:
        compute_type = "int8" if device == "cpu" else "float16"
        self._model = WhisperModel(str(path), device=device, compute_type=compute_type, cpu_threads=threads)
        self._language = None if self._model.model.is_multilingual else "en"
        # One transcription at a time: two at once on a small CPU each take twice as long, and a request
        # cancelled while it waits (a speculative one made void) then costs nothing.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt")

    async def transcribe(self, audio: Float32) -> Transcription:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._transcribe, audio)

    def _transcribe(self, audio: Float32) -> Transcription:
        # Greedy decoding of one short utterance: beam search was slower and no better here (MODELS.md),
        # and the utterance is already cut by our own VAD.
        segments, info = self._model.transcribe(
            audio,
            language=self._language,
            beam_size=1,
            # No fallback to sampling at higher temperatures: on a short utterance it re-decodes several times
            # (seen: 1.3 s instead of 0.7 s) and was not more accurate.
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        text = " ".join(segment.text.strip() for segment in segments).strip()
        return Transcription(text=text, language=info.language, audio_seconds=len(audio) / self.sample_rate)
