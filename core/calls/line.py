"""What every transport (a SIP call, a browser call, a simulation, a busy message) does with a call: the caller's
audio in, the assistant's audio out, both into the call's recording; the session's wish to leave (a transfer, a
hangup) as an event; and a wait until the caller has heard everything said before the transport acts on it.

The transport drives the line from its own media clock, on the event loop: every frame in goes through ``hear``,
every frame out comes from ``play``. Whether the caller has heard everything is known on those frames, so the
wait is woken by them rather than by a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from core.calls.playout import Playout
from core.calls.recording import CallRecording, recording_name
from core.calls.session import CallSession
from core.events import CallerSilenced, Event, HangupRequested, TransferRequested
from models.interfaces import Pcm16


class Line:
    def __init__(
        self,
        playout: Playout,
        feed: Callable[[Pcm16], None] | None = None,
        *,
        session: CallSession | None = None,
        recording: CallRecording | None = None,
        gone: asyncio.Event | None = None,
        tail_s: float = 0.0,
        deaf_while_leaving: bool = False,
    ) -> None:
        """``playout``: what the caller is to hear; ``feed``: where the caller's audio goes (nowhere for a fixed
        message); ``session``: the call, whose requests to leave the line follows; ``gone``: set by the transport
        once the caller has gone; ``tail_s``: how long the last frame takes to reach the caller once sent (jitter
        buffers on the way); ``deaf_while_leaving``: stop passing the caller's audio on once the session asks to
        leave (until it stays)."""
        self.playout = playout
        self._feed = feed
        self.session = session
        self.recording = recording
        self.gone = gone or asyncio.Event()
        self._tail_s = tail_s
        self._deaf_while_leaving = deaf_while_leaving
        self.leaving = asyncio.Event()
        self._handed = 0  # frames handed to the transport
        self._reached = 0  # of those, how many had reached the caller at the last frame
        self._last_voice = 0  # the number of the last frame that carried the assistant's voice
        self._progress = asyncio.Event()  # set when the caller may have heard everything
        if session is not None:
            session.subscribe(self)

    @classmethod
    def of(
        cls,
        session: CallSession,
        *,
        recording: CallRecording | None = None,
        gone: asyncio.Event | None = None,
        tail_s: float = 0.0,
        deaf_while_leaving: bool = False,
    ) -> Line:
        """The line of a call: the caller's audio feeds the session, the session's playout is what is played."""
        return cls(
            session.playout,
            session.feed,
            session=session,
            recording=recording,
            gone=gone,
            tail_s=tail_s,
            deaf_while_leaving=deaf_while_leaving,
        )

    # ----- the session's side

    def handle(self, event: Event) -> None:
        if isinstance(event, TransferRequested | HangupRequested):
            self.leaving.set()
        elif isinstance(event, CallerSilenced) and self.recording is not None:
            self.recording.silence(event.start, event.end)

    @property
    def request(self) -> TransferRequested | HangupRequested | None:
        """What the session asked the line to do (the first request since it last stayed)."""
        return self.session.leaving if self.session is not None else None

    def stay(self) -> None:
        """The request could not be carried out (a transfer was refused): the call stays with the assistant."""
        if self.session is not None:
            self.session.leaving = None
        self.leaving.clear()

    # ----- the transport's side

    def hear(self, pcm: Pcm16, at: int | None = None) -> None:
        """A frame of the caller's audio; ``at``: where it starts on the call's clock, in samples (left out when
        the caller's frames follow one another)."""
        if self._feed is not None and not (self._deaf_while_leaving and self.leaving.is_set()):
            self._feed(pcm)
        if self.recording is not None:
            self.recording.caller(pcm, at)

    def play(self, samples: int, *, ahead: int = 0) -> Pcm16 | None:
        """The assistant's next ``samples`` for the caller, or None when it has nothing to say. ``ahead``: frames
        handed out before this one that have not reached the caller yet (queued ahead of the media clock)."""
        self._reached = self._handed - ahead
        pcm = self.playout.read(samples)
        self._handed += 1
        if pcm is not None:
            self._last_voice = self._handed
        elif self.drained:
            self._progress.set()
        return pcm

    def sent(self, pcm: Pcm16, at: int | None = None) -> None:
        """A frame as it went to the caller (after whatever the transport did to it), for the recording."""
        if self.recording is not None:
            self.recording.assistant(pcm, at)

    @property
    def drained(self) -> bool:
        """Everything the assistant said has reached the caller (as of the last frame played)."""
        return self.playout.buffered_seconds == 0 and self._reached >= self._last_voice

    async def heard(self, *, finished: bool = False, within_s: float | None = None) -> None:
        """Wait until the caller has heard everything queued so far (with ``finished``, also what is still being
        worked on: a reply, its synthesis), or has gone, or ``within_s`` has passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._heard(finished), within_s)

    async def _heard(self, finished: bool) -> None:
        if finished and self.session is not None:
            await self.session.work.idle()
        while not self.gone.is_set() and not self.drained:
            self._progress.clear()
            waits = [asyncio.ensure_future(self._progress.wait()), asyncio.ensure_future(self.gone.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
        if self._tail_s and not self.gone.is_set():
            await asyncio.sleep(self._tail_s)

    async def close(self) -> None:
        """Finish the recording; the call's record names it if there is one."""
        recording, self.recording = self.recording, None
        if recording is not None and await recording.close() and self.session is not None:
            self.session.call.meta["recording"] = recording_name(self.session.call)
