"""Finds where the caller's utterances start and end: Silero VAD per 32 ms frame, then either the turn model's
judgement at the first pause or a silence window."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import structlog

from core.events import (
    AudioIn,
    BargeIn,
    Event,
    HoldSpeech,
    ListenFor,
    SpeechPaused,
    SpeechResumed,
    SpeechStarted,
    TurnJudged,
    UtteranceEnded,
)
from models.interfaces import Float32, VadProvider

_PREROLL_S = 0.3  # audio kept from before speech is detected, so the first syllable is not clipped
_TAIL_S = 0.15  # silence kept after speech, which Whisper needs to finish the last word
_MAX_UTTERANCE_S = 25.0  # Whisper sees 30 s at most
_HYSTERESIS = 0.15  # Silero's own advice: speech continues until the probability falls this far below
# Extra silence allowed while the caller gives something people pause in the middle of.
_PATIENCE = {"digits": 0.9, "address": 0.6}


@dataclass(frozen=True, slots=True)
class EndpointPolicy:
    threshold: float
    silence_s: float
    min_speech_s: float
    speculate_s: float
    # With a turn model: a pause it judges finished (``turn_threshold``) ends the turn; otherwise the turn ends
    # after ``fallback_s`` of silence, so a caller who trails off is not left waiting. None: ``silence_s`` alone.
    fallback_s: float | None = None
    turn_threshold: float = 0.5
    # The model is asked at the first pause (``speculate_s``, with the speculative transcription), but a turn it
    # judges finished ends no sooner than this: shorter pauses inside a sentence are common.
    turn_pause_s: float = 0.3
    # While the assistant speaks: a phone line has no echo cancellation, so the caller must be clearly speech,
    # clearly louder than our own voice coming back, and for long enough.
    barge_in_threshold: float = 0.8
    barge_in_min_s: float = 0.064
    echo_margin: float = 0.35  # the caller must be at least this fraction of what we play (about -9 dB)


class Playback(Protocol):
    """What the assistant is playing, to tell the caller from the echo of our own voice."""

    def playing(self) -> bool: ...

    def level(self) -> float: ...


class Listener:
    def __init__(
        self,
        vad: VadProvider,
        policy: EndpointPolicy,
        publish: Callable[[Event], None],
        log: structlog.stdlib.BoundLogger,
        clock: Callable[[], float] = time.perf_counter,
        lag_s: float = 0.0,
        playback: Playback | None = None,
    ) -> None:
        """``lag_s``: how long audio takes to reach this stage after it arrives on the line (a resampler's
        filter); it is added to the endpoint's time, because the caller waits for it too."""
        self._lag = lag_s
        self._playback = playback
        self._vad = vad.stream()
        self._frame = vad.frame_samples
        self._rate = vad.sample_rate
        self.policy = policy
        self._publish = publish
        self._log = log
        self._clock = clock
        self._pending = np.zeros(0, dtype=np.float32)
        self._t = 0.0  # audio time at the end of the last frame given to the VAD
        self._preroll: deque[Float32] = deque(maxlen=max(1, int(_PREROLL_S * self._rate / self._frame)))
        self._speech: list[Float32] | None = None
        self._start = 0.0
        self._last_speech = 0.0
        self._run = 0
        self._paused = False
        self._finished = False  # the turn model judged the current pause the end of the turn
        self._patience = 0.0
        self._holding = False

    @property
    def in_speech(self) -> bool:
        return self._speech is not None

    def handle(self, event: Event) -> None:
        if isinstance(event, ListenFor):
            self._patience = _PATIENCE.get(event.expect or "", 0.0)
            return
        if isinstance(event, TurnJudged):
            self._judged(event)
            return
        if not isinstance(event, AudioIn):
            return
        self._pending = np.concatenate([self._pending, event.audio])
        while self._pending.size >= self._frame:
            frame, self._pending = self._pending[: self._frame], self._pending[self._frame :]
            self._step(frame)

    def _step(self, frame: Float32) -> None:
        p = self._vad.probability(frame)
        frame_s = self._frame / self._rate
        start, self._t = self._t, self._t + frame_s
        policy = self.policy
        if self._speech is None:
            self._preroll.append(frame)
            over_us = self._playback is not None and self._playback.playing()
            if over_us:
                assert self._playback is not None
                loud = float(np.sqrt(np.mean(frame**2))) >= max(self._playback.level() * policy.echo_margin, 0.003)
                counts, needed = p >= policy.barge_in_threshold and loud, policy.barge_in_min_s
            else:
                counts, needed = p >= policy.threshold, policy.min_speech_s
            self._run = self._run + 1 if counts else 0
            confirmed = self._run * frame_s >= needed - 1e-9
            holding = over_us and self._run > 0 and not confirmed
            if holding != self._holding and not (over_us and confirmed):
                # From the caller's first frame the assistant goes quiet, rather than after the whole run that
                # confirms them; if the run breaks, it goes on where it stopped, nothing dropped. A confirmed
                # barge-in keeps the hold until the speaker has dropped the audio (which ends it).
                self._publish(HoldSpeech(held=holding, at=self._t))
            self._holding = holding
            if confirmed:
                self._speech = list(self._preroll)
                self._start = start - (self._run - 1) * frame_s
                self._last_speech = self._t
                if over_us:
                    self._log.info("caller barged in", at=round(self._t, 2))
                    self._publish(BargeIn(at=self._t))
                self._publish(SpeechStarted(at=self._start))
            return

        self._speech.append(frame)
        if p >= policy.threshold:
            self._last_speech = self._t
            if self._paused:
                self._paused, self._finished = False, False
                self._publish(SpeechResumed(at=self._t))
        silent_for = self._t - self._last_speech
        quiet = p < policy.threshold - _HYSTERESIS
        too_long = self._t - self._start >= _MAX_UTTERANCE_S
        judged_over = self._finished and silent_for >= policy.turn_pause_s
        if ((silent_for >= self._silence_limit() or judged_over) and quiet) or too_long:
            self._end(too_long)
        elif silent_for >= policy.speculate_s + self._patience and quiet and not self._paused:
            self._paused = True
            self._publish(SpeechPaused(audio=self._utterance(), speech_end=self._last_speech))

    def _silence_limit(self) -> float:
        """How much silence ends the turn without the turn model's word. A read-out (digits, an address) keeps
        its longer window whatever the model says: people pause inside a phone number on purpose."""
        policy = self.policy
        if policy.fallback_s is None or self._patience:
            return policy.silence_s + self._patience
        return policy.fallback_s

    def _judged(self, judged: TurnJudged) -> None:
        # Only a judgement of the pause the caller is still in counts: speech since then made it void.
        current = self._speech is not None and self._paused and judged.speech_end == self._last_speech
        if not current or self.policy.fallback_s is None or self._patience:
            return
        finished = judged.probability >= self.policy.turn_threshold
        self._log.debug(
            "turn judged",
            finished=finished,
            probability=round(judged.probability, 2),
            ms=round(judged.seconds * 1000),
        )
        if finished and self._t - self._last_speech >= self.policy.turn_pause_s:
            self._end(False)
        else:
            self._finished = finished

    def _utterance(self) -> Float32:
        """The speech so far, with a short tail of the silence after it."""
        assert self._speech is not None
        audio = np.concatenate(self._speech)
        return audio[: len(audio) - int(max(0.0, self._t - self._last_speech - _TAIL_S) * self._rate)]

    def _end(self, forced: bool) -> None:
        audio = self._utterance()
        self._speech, self._run, self._paused, self._finished = None, 0, False, False
        self._preroll.clear()
        if forced:
            self._log.info("utterance cut at the maximum length", seconds=_MAX_UTTERANCE_S)
        self._publish(
            UtteranceEnded(
                audio=audio,
                speech_start=self._start,
                speech_end=self._last_speech,
                endpoint_at=self._t + self._lag,
                endpoint_wall=self._clock(),
            )
        )
