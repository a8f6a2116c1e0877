"""Speaks the reply: each clause through TTS as soon as it arrives, resampled to the line's rate, into the
playout buffer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from appliance.audio import resample
from appliance.calls.bus import Work
from appliance.calls.events import AudioOut, Event, ReplyDone, ReplyText, SpeechDone
from appliance.calls.playout import Playout
from models.errors import ModelError
from models.foreground import Foreground
from models.interfaces import TtsProvider


class Speaker:
    def __init__(
        self,
        tts: TtsProvider,
        playout: Playout,
        foreground: Foreground,
        publish: Callable[[Event], None],
        work: Work,
        log: structlog.stdlib.BoundLogger,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._tts = tts
        self._playout = playout
        self._foreground = foreground
        self._publish = publish
        self._work = work
        self._log = log
        self._clock = clock
        self._queue: asyncio.Queue[ReplyText | ReplyDone] = asyncio.Queue()
        self._running = False
        self._spoken: set[int] = set()  # turns whose answer has started (fillers do not count)

    def handle(self, event: Event) -> None:
        if isinstance(event, ReplyText | ReplyDone):
            self._queue.put_nowait(event)
            if not self._running:
                self._running = True
                self._work.spawn(self._drain(), "tts")

    async def _drain(self) -> None:
        try:
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if isinstance(item, ReplyDone):
                    self._publish(SpeechDone(turn=item.turn))
                else:
                    await self._speak(item)
        finally:
            self._running = False

    async def _speak(self, item: ReplyText) -> None:
        # The caller is waiting for the first clause of a reply: the LLM waits for it instead.
        hold = self._foreground.hold() if item.turn not in self._spoken or item.filler else contextlib.nullcontext()
        try:
            with hold:
                await self._synthesize(item)
        except ModelError as exc:
            self._log.error("speech synthesis failed; the clause is skipped", error=str(exc), text=item.text)

    async def _synthesize(self, item: ReplyText) -> None:
        async for pcm in self._tts.stream(item.text):
            audio = resample(pcm, self._tts.sample_rate, self._playout.rate)
            self._playout.write(audio)
            first = not item.filler and item.turn not in self._spoken
            if not item.filler:
                self._spoken.add(item.turn)
            self._publish(AudioOut(turn=item.turn, pcm=audio, first=first, wall=self._clock(), filler=item.filler))
