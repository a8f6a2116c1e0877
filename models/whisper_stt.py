"""Speech to text with faster-whisper (CTranslate2).

Whisper's encoder is made for 30 s windows, and faster-whisper pads every utterance to one: most of the time of a
3 s utterance goes into encoding 27 s of silence. CTranslate2's encoder also takes shorter windows, so a short
utterance is first encoded in a window of ``window_s`` (the utterance plus a few seconds of silence when it is
longer), in about a third of the time. Whisper is a little less sure of itself there: on natural speech through a
phone line the words came out the same, on robotic speech more often wrong. So a transcription it is unsure of
(an average log-probability per token below ``_UNSURE``) is made again in the full window, which is what Whisper
does too, at higher temperatures, when it doubts a result. On our clips that re-ran 4-8 % of natural utterances
and most robotic ones, and matched the full window's word error rate on both.

Words that repeat the way a decoder in a loop does (models/transcript_checks.py) are decoded again in the full
window, then with repeated phrases forbidden; if they still loop, or Whisper heard no speech and is unsure of what
it wrote (hiss, music), the transcription says so in ``rejected`` and the call does not answer it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from models.device import Device
from models.interfaces import Float32, Transcription
from models.transcript_checks import looped, not_speech

_FULL_FRAMES = 3000  # Whisper's 30 s window, in mel frames of 10 ms
_SILENCE_AFTER_FRAMES = 500  # at least this much padding after a long utterance
_MAX_TOKENS = 224  # half of Whisper's text context: far more than a caller says in one turn
_UNSURE = -0.5
_NO_REPEAT = 3  # on the last decode of a looping transcript: no three tokens twice


class WhisperStt:
    sample_rate = 16_000

    def __init__(self, path: Path, device: Device, threads: int, window_s: int = 10) -> None:
        compute_type = "int8" if device == "cpu" else "float16"
        self._whisper = WhisperModel(str(path), device=device, compute_type=compute_type, cpu_threads=threads)
        self._model = self._whisper.model
        self._window = min(_FULL_FRAMES, window_s * 100)
        self._multilingual = bool(self._model.is_multilingual)
        self._english = self._tokenizer("en")
        # One transcription at a time: two at once on a small CPU each take twice as long, and a request
        # cancelled while it waits (a speculative one made void) then costs nothing.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt")

    async def transcribe(self, audio: Float32) -> Transcription:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._transcribe, audio)

    def _tokenizer(self, language: str) -> Tokenizer:
        return Tokenizer(self._whisper.hf_tokenizer, self._multilingual, task="transcribe", language=language)

    def _transcribe(self, audio: Float32) -> Transcription:
        features = self._whisper.feature_extractor(audio)
        frames = min(_FULL_FRAMES, max(self._window, features.shape[-1] + _SILENCE_AFTER_FRAMES))
        text, language, score, no_speech = self._decode(features, frames)
        loops = looped(text)
        if (score < _UNSURE or loops) and frames < _FULL_FRAMES:
            text, language, score, no_speech = self._decode(features, _FULL_FRAMES)
            loops = looped(text)
        if loops:
            text, language, score, no_speech = self._decode(features, _FULL_FRAMES, no_repeat=_NO_REPEAT)
            loops = looped(text)
        seconds = len(audio) / self.sample_rate
        rejected = "repeats itself" if loops else "not speech" if not_speech(no_speech, score) else None
        return Transcription(text=text, language=language, audio_seconds=seconds, rejected=rejected)

    def _decode(self, features: Float32, frames: int, no_repeat: int = 0) -> tuple[str, str, float, float]:
        """The words in the first ``frames`` of ``features`` (padded with silence), their language, the average
        log-probability of their tokens and the probability that there was no speech at all."""
        window = np.ascontiguousarray(pad_or_trim(features, frames)[np.newaxis])
        encoded = self._model.encode(ctranslate2.StorageView.from_array(window), to_cpu=False)
        tokenizer = self._english
        if self._multilingual:
            language = self._model.detect_language(encoded)[0][0][0][2:-2]  # "<|de|>" -> "de"
            tokenizer = self._tokenizer(language)
        # Greedy decoding at temperature 0: beam search was slower and no better here.
        result = self._model.generate(
            encoded,
            [[*tokenizer.sot_sequence, tokenizer.no_timestamps]],
            beam_size=1,
            max_length=_MAX_TOKENS,
            suppress_blank=True,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, (-1,)) or ()),
            return_scores=True,
            return_no_speech_prob=True,
            no_repeat_ngram_size=no_repeat,
        )[0]
        text = tokenizer.decode(result.sequences_ids[0]).strip()
        return text, tokenizer.language_code, float(result.scores[0]), float(result.no_speech_prob)
