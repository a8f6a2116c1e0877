"""Barge-in on a line paced in real time: the caller talking over the assistant stops it quickly; the
assistant's own voice coming back as line echo does not."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from pathlib import Path

import numpy as np

from appliance.runtime import Runtime
from core.audio import read_wav
from core.calls.playout import Playout
from core.events import BargeIn, Event, SpeechStarted
from models.interfaces import Pcm16
from testkit.sounds import piper_clip

RATE = 8000
FRAME = RATE // 50


class _Watch:
    def __init__(self) -> None:
        self.barge_ins: list[float] = []
        self.speech: list[float] = []

    def handle(self, event: Event) -> None:
        if isinstance(event, BargeIn):
            self.barge_ins.append(time.perf_counter())
        elif isinstance(event, SpeechStarted):
            self.speech.append(time.perf_counter())


async def _line(
    runtime: Runtime, caller: Pcm16 | None, talk_after_s: float, echo_db: float | None, seconds: float
) -> tuple[_Watch, int | None, int | None, int, int]:
    """A real-time line: the greeting plays; ``talk_after_s`` into it the caller speaks ``caller``; the played
    audio comes back at ``echo_db`` after 40 ms. Returns the line's frame count when the caller's speech began
    and when the assistant's audio stopped (what the caller heard is counted on the line, so a busy machine
    delaying this loop does not change it), how many frames of the assistant played after that while the
    caller was still talking, and how many samples were played."""
    session = runtime.new_call("example", channel="simulated", caller="test", callee=None, rate=RATE)
    watch = _Watch()
    session.subscribe(watch)
    await session.start()
    echo: deque[Pcm16] = deque([np.zeros(FRAME, np.int16)] * 2)
    gain = 0.0 if echo_db is None else 10 ** (echo_db / 20)
    onset = stopped = None
    heard_from = None
    position, quiet, after_stop = 0, 0, 0
    next_tick = time.perf_counter()
    for tick in range(int(seconds * 50)):
        played = session.playout.read(FRAME)
        quiet = quiet + 1 if played is None and heard_from is not None else 0
        if caller is None and quiet > 25:
            break  # the greeting has played out
        if played is not None and heard_from is None:
            heard_from = time.perf_counter()
        if played is None and heard_from is not None and stopped is None and onset is not None:
            stopped = tick
        if played is not None and stopped is not None and caller is not None and position < caller.size:
            after_stop += 1
        echo.append(played if played is not None else np.zeros(FRAME, np.int16))
        frame = (echo.popleft().astype(np.float32) * gain).astype(np.int16)
        if caller is not None and heard_from is not None and time.perf_counter() - heard_from >= talk_after_s:
            chunk = caller[position : position + FRAME]
            position += FRAME
            if chunk.size == FRAME:
                if onset is None and np.abs(chunk).max() > 1000:
                    onset = tick
                frame = np.clip(frame.astype(np.int32) + chunk, -32768, 32767).astype(np.int16)
        session.feed(frame)
        next_tick += 0.02
        await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
    samples = session.playout.samples_played
    await session.end("test over", wait=False)
    return watch, onset, stopped, after_stop, samples


async def test_talking_over_the_assistant_stops_it_within_200_ms(loaded: Runtime, sounds: Path) -> None:
    clip = read_wav(await piper_clip(loaded.models.tts(), "Sorry, hang on a second, I have a question.", sounds), RATE)
    watch, onset, stopped, after_stop, _ = await _line(loaded, clip, talk_after_s=0.3, echo_db=None, seconds=3.0)
    assert onset is not None and watch.barge_ins, "no barge-in"
    assert stopped is not None
    heard_over = (stopped - onset) * 20
    assert heard_over <= 200, f"the caller heard {heard_over} ms of the assistant over their own voice"
    assert after_stop == 0, f"the assistant went on for {after_stop * 20} ms after stopping"


async def test_our_own_voice_as_line_echo_is_not_a_barge_in(loaded: Runtime) -> None:
    # -12 dB of echo 40 ms late: a poor line (typical echo return loss on a phone line is 20 dB or more).
    watch, _, _, _, samples = await _line(loaded, None, talk_after_s=0.0, echo_db=-12.0, seconds=30.0)
    assert samples > RATE * 3  # the greeting played out
    assert watch.barge_ins == [] and watch.speech == []


def test_a_held_reply_goes_on_where_it_stopped_and_a_flush_releases_the_hold() -> None:
    playout = Playout(RATE)
    speech = np.arange(3 * FRAME, dtype=np.int16)
    playout.write(speech)
    first = playout.read(FRAME)
    playout.hold(True)  # the caller may be starting to talk
    assert playout.read(FRAME) is None and playout.playing()
    playout.hold(False)  # it was a cough
    second = playout.read(FRAME)
    assert first is not None and second is not None
    assert np.array_equal(np.concatenate([first, second]), speech[: 2 * FRAME])
    playout.hold(True)
    playout.flush()  # it was the caller: a barge-in drops the rest, and the next reply plays
    playout.write(speech)
    assert np.array_equal(playout.read(FRAME), speech[:FRAME])
