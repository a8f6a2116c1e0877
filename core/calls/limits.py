"""Ends calls that run too long or go silent, politely: a spoken line first, then a hangup once it is heard.

Time here is the call's audio time (frames fed), so a simulated call behaves as a phone call does. Silence counts
only while nobody is doing anything: not while the caller speaks, nor while the assistant thinks or talks.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from core.events import AudioIn, Event, HangupRequested, SayLine, SpeechStarted, TransferRequested
from core.tenants.telephony import Telephony

CHECK_IN_LINE = "Are you still there?"
SILENCE_LINE = "I haven't heard anything for a while, so I'll end the call now. Please call back any time. Goodbye."
TIME_LIMIT_LINE = (
    "I'm sorry, we've reached the time limit for this call. Please call back if there's anything else. Goodbye."
)
_INTENT = "call-limit"  # the intent of the lines said here, so no other stage mistakes them for the caller's


class CallLimits:
    def __init__(
        self,
        telephony: Telephony,
        publish: Callable[[Event], None],
        log: structlog.stdlib.BoundLogger,
        *,
        busy: Callable[[], bool],
        playing: Callable[[], float],
    ) -> None:
        """``busy``: whether the assistant is working on something; ``playing``: seconds of audio not yet heard."""
        self._max_s = telephony.max_call_minutes * 60
        self._silence_s = telephony.silence_timeout_seconds
        self._publish = publish
        self._log = log
        self._busy = busy
        self._playing = playing
        self._quiet_since = 0.0
        self._checked_in = False
        self._ending = False  # the closing line has been asked for (with the hangup to follow it)
        self._done = False

    def handle(self, event: Event) -> None:
        if self._done:
            return
        if isinstance(event, TransferRequested | HangupRequested):
            self._done = True  # someone else is moving the call on
        elif isinstance(event, SpeechStarted):
            self._quiet_since = event.at
            self._checked_in = False
        elif isinstance(event, AudioIn):
            self._tick(event.at)

    def _tick(self, now: float) -> None:
        if self._ending:
            return
        if self._max_s and now >= self._max_s:
            self._close("the call reached its time limit", TIME_LIMIT_LINE, minutes=round(now / 60, 1))
            return
        if self._busy() or self._playing() > 0:
            self._quiet_since = now
            return
        if not self._silence_s or now - self._quiet_since < self._silence_s:
            return
        if not self._checked_in:
            self._checked_in = True
            self._quiet_since = now
            self._log.info("caller silent; checking in", seconds=self._silence_s)
            self._publish(SayLine(CHECK_IN_LINE, intent=_INTENT))
        else:
            self._close("the caller stayed silent", SILENCE_LINE, seconds=self._silence_s)

    def _close(self, reason: str, line: str, **detail: float) -> None:
        self._ending = True
        self._log.info("ending the call", reason=reason, **detail)
        self._publish(SayLine(line, intent=_INTENT, after=HangupRequested(reason)))
