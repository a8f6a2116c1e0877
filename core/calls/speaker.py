"""Speaks the reply: each clause through TTS as soon as it arrives, resampled to the line's rate, into the
playout buffer."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable

import structlog

from core.audio import resample
from core.calls.bus import Work
from core.calls.playout import Playout
from core.events import AudioOut, BargeIn, Event, HoldSpeech, ReplyDone, ReplyText, SpeechDone
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
        self._queue: deque[ReplyText | ReplyDone] = deque()
        self._running = False
        self._silenced: set[int] = set()  # turns the caller talked over: nothing more of them is said
        self._current = -1
        self._spoken: set[int] = set()  # turns whose answer has started (fillers do not count)

    def handle(self, event: Event) -> None:
        if isinstance(event, HoldSpeech):
            self._playout.hold(event.held)
        elif isinstance(event, BargeIn):
            self._silence()
        elif isinstance(event, ReplyText | ReplyDone):
            self._queue.append(event)
            if not self._running:
                self._running = True
                self._work.spawn(self._drain(), "tts")

    def _silence(self) -> None:
        """Stop at once: what is queued for the line is dropped, clauses not yet synthesized are skipped."""
        dropped = self._playout.flush()
        self._silenced.update({self._current, *(item.turn for item in self._queue)})
        self._log.info("speech stopped: the caller is talking", dropped_s=round(dropped / self._playout.rate, 2))

    async def _drain(self) -> None:
        try:
            while self._queue:
                item = self._queue.popleft()
                self._current = item.turn
                if isinstance(item, ReplyDone):
                    self._publish(SpeechDone(turn=item.turn))
                elif item.turn not in self._silenced:
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
            if item.turn in self._silenced:
                return
            audio = resample(pcm, self._tts.sample_rate, self._playout.rate)
            self._playout.write(audio)
            first = not item.filler and item.turn not in self._spoken
            if not item.filler:
                self._spoken.add(item.turn)
            self._publish(AudioOut(turn=item.turn, pcm=audio, first=first, wall=self._clock(), filler=item.filler))
