"""Asks the turn model, at each pause in the caller's speech, whether they have finished: off the event loop,
so the audio keeps flowing while it decides."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from core.calls.bus import Work
from core.events import Event, SpeechPaused, TurnJudged
from models.interfaces import TurnDetector


class TurnJudge:
    def __init__(
        self,
        detector: TurnDetector,
        publish: Callable[[Event], None],
        work: Work,
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        self._detector = detector
        self._publish = publish
        self._work = work
        self._log = log
        self._failed = False

    def handle(self, event: Event) -> None:
        if isinstance(event, SpeechPaused):
            self._work.spawn(self._judge(event), "turn")

    async def _judge(self, pause: SpeechPaused) -> None:
        started = time.perf_counter()
        try:
            probability = await asyncio.to_thread(self._detector.complete, pause.audio)
        except Exception as exc:
            # The silence fallback still ends the turn; one line per call is enough to act on.
            if not self._failed:
                self._log.warning("turn model failed; the caller's turns end on silence alone", error=repr(exc))
            self._failed = True
            return
        self._publish(TurnJudged(pause.speech_end, probability, time.perf_counter() - started))
