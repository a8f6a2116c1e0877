"""A call's listening stages on their own (Listener, and TurnJudge when there is a turn model), fed audio frame
by frame as a call feeds them, for tests and benchmarks of when a caller's turn is over."""

from __future__ import annotations

import structlog

from core.calls.bus import EventBus, Work
from core.calls.listener import EndpointPolicy, Listener
from core.calls.turn_judge import TurnJudge
from core.events import AudioIn, Event, TurnJudged, UtteranceEnded
from models.interfaces import Float32, TurnDetector, VadProvider


class Heard:
    """The turns' ends and the turn model's judgements, in order."""

    def __init__(self) -> None:
        self.ended: list[UtteranceEnded] = []
        self.judged: list[TurnJudged] = []

    def handle(self, event: Event) -> None:
        if isinstance(event, UtteranceEnded):
            self.ended.append(event)
        elif isinstance(event, TurnJudged):
            self.judged.append(event)


async def listen(
    audio: Float32,
    policy: EndpointPolicy,
    vad: VadProvider,
    turn: TurnDetector | None,
    before: Event | None = None,
    frame: int = 320,
) -> Heard:
    """Feeds 16 kHz ``audio`` in frames of ``frame`` samples (20 ms), after the event ``before`` (a ListenFor,
    say). A turn model's decision lands at the frame it was asked at: the time it took is in its TurnJudged."""
    log = structlog.get_logger("listening")
    bus, work, heard = EventBus(log), Work(log), Heard()
    bus.subscribe(Listener(vad, policy, bus.publish, log))
    if turn is not None:
        bus.subscribe(TurnJudge(turn, bus.publish, work, log))
    bus.subscribe(heard)
    if before is not None:
        bus.publish(before)
    for start in range(0, audio.size, frame):
        bus.publish(AudioIn(audio=audio[start : start + frame], at=start / vad.sample_rate))
        await work.idle()
    return heard
