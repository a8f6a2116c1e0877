"""Turns each finished utterance into the caller's words with the STT model."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable

import structlog

from core.calls.bus import Work
from core.calls.cards import CardGuard
from core.dialogue.conversation import FALLBACK_REPLY
from core.events import CallerDrafted, CallerSaid, Event, SayLine, SpeechPaused, SpeechResumed, UtteranceEnded
from models.errors import ModelError
from models.interfaces import SttProvider, Transcription

_WORDS = re.compile(r"\w")


class Transcriber:
    def __init__(
        self,
        stt: SttProvider,
        publish: Callable[[Event], None],
        work: Work,
        log: structlog.stdlib.BoundLogger,
        cards: CardGuard,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._stt = stt
        self._publish = publish
        self._cards = cards
        self._work = work
        self._log = log
        self._clock = clock
        # One utterance at a time, in the order they were spoken.
        self._order = asyncio.Lock()
        # Transcription started at a pause, before the turn was known to be over: (speech end, started, task).
        self._speculative: tuple[float, float, asyncio.Task[Transcription]] | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, SpeechPaused):
            self._drop_speculation()
            self._log.debug("speculative transcription", speech_end=round(event.speech_end, 2))
            task = asyncio.ensure_future(self._stt.transcribe(event.audio))
            self._speculative = (event.speech_end, self._clock(), task)
            # Counted as work in progress, so a caller-side transport knows the assistant is busy.
            self._work.spawn(self._draft(task), "stt-speculative")
        elif isinstance(event, SpeechResumed):
            self._log.debug("caller resumed; speculation dropped", at=round(event.at, 2))
            self._drop_speculation()
        elif isinstance(event, UtteranceEnded):
            self._work.spawn(self._transcribe(event), "stt")

    async def _draft(self, task: asyncio.Future[Transcription]) -> None:
        with contextlib.suppress(asyncio.CancelledError, ModelError):
            result = await asyncio.shield(task)
            # Still the words of the pause the caller is in (not made void by more speech): worth preparing for.
            current = self._speculative is not None and self._speculative[2] is task
            if current and result.rejected is None and _WORDS.search(result.text):
                self._publish(CallerDrafted(self._cards.draft(result.text)))

    def _drop_speculation(self) -> None:
        if self._speculative is not None:
            # The thread finishes its work regardless; its result is simply not used.
            self._speculative[2].cancel()
            self._speculative = None

    def _reuse(self, utterance: UtteranceEnded) -> tuple[float, asyncio.Task[Transcription]] | None:
        found, self._speculative = self._speculative, None
        if found is not None and found[0] == utterance.speech_end:
            return found[1], found[2]
        if found is not None:
            found[2].cancel()
        return None

    async def _transcribe(self, utterance: UtteranceEnded) -> None:
        reused = self._reuse(utterance)
        async with self._order:
            started = self._clock()
            try:
                if reused is not None:
                    started, task = reused
                    result = await task
                else:
                    result = await self._stt.transcribe(utterance.audio)
            except ModelError as exc:
                self._log.error("transcription failed; the utterance is dropped", error=str(exc))
                return
            stt_ms = (self._clock() - started) * 1000
            if result.rejected == "repeats itself":
                # Whisper's decoder looped and could not be got out of it: answering would answer a hallucination.
                self._log.warning(
                    "transcript repeats itself; the caller is asked to say it again",
                    seconds=round(result.audio_seconds, 2),
                    characters=len(result.text),
                )
                self._publish(SayLine(FALLBACK_REPLY, "not-heard"))
                return
            if result.rejected is not None:
                self._log.info("utterance was not speech", seconds=round(result.audio_seconds, 2))
                return
            if not _WORDS.search(result.text):
                self._log.info("utterance had no words", seconds=round(result.audio_seconds, 2))
                return
            said = self._cards.said(
                CallerSaid(
                    text=result.text,
                    source="audio",
                    endpoint_wall=utterance.endpoint_wall,
                    speech_end=utterance.speech_end,
                    endpoint_at=utterance.endpoint_at,
                    stt_ms=stt_ms,
                    speech_start=utterance.speech_start,
                )
            )
            self._log.info("caller said", text=said.text, stt_ms=round(stt_ms))
            self._publish(said)
