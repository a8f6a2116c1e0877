"""A call: the stages wired together. Transports (SIP, WebRTC, a file) feed it audio frames at the line's rate
and read the assistant's audio from its playout buffer; everything else happens through events."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import structlog

from core.audio import StreamResampler, to_float
from core.calls.bus import EventBus, Stage, Work
from core.calls.cards import CardGuard
from core.calls.control import CallControl
from core.calls.limits import CallLimits
from core.calls.listener import EndpointPolicy, Listener
from core.calls.playout import Playout
from core.calls.recorder import CallRecorder
from core.calls.responder import Responder
from core.calls.settings import CallSettings
from core.calls.speaker import Speaker
from core.calls.transcriber import Transcriber
from core.calls.turn_judge import TurnJudge
from core.calls.turns import TurnTracker
from core.dialogue.dialogue import Dialogue
from core.dialogue.outcome import call_outcomes
from core.events import (
    AudioIn,
    CallEnded,
    CallerSaid,
    CallStarted,
    Dtmf,
    Event,
    HangupRequested,
    TransferRequested,
)
from core.records import CallRecord
from core.store.calls import CallRepository
from core.store.database import utcnow
from core.tenants.document import TenantDocument
from models.foreground import Foreground
from models.interfaces import LlmProvider, Pcm16, SttProvider, TtsProvider, TurnDetector, VadProvider


@dataclass(frozen=True, slots=True)
class Models:
    vad: VadProvider
    stt: SttProvider
    llm: LlmProvider
    tts: TtsProvider
    foreground: Foreground
    turn: TurnDetector | None = None  # None: the box's calls.turn_detection is off


class CallSession:
    def __init__(
        self,
        *,
        call: CallRecord,
        tenant: TenantDocument,
        models: Models,
        settings: CallSettings,
        rate: int,
        calls: CallRepository,
        dialogue: Callable[[structlog.stdlib.BoundLogger], Dialogue],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.call = call
        self.tenant = tenant
        self.rate = rate
        self._analysis = settings.analysis
        self.log: structlog.stdlib.BoundLogger = structlog.get_logger("call").bind(
            call_id=call.id, tenant=call.tenant_id
        )
        self.bus = EventBus(self.log)
        self.work = Work(self.log)
        self.playout = Playout(rate)
        self._clock = clock
        publish = self.bus.publish
        self._to_model_rate = StreamResampler(rate, models.vad.sample_rate)
        turn = _turn_detector(models, tenant, self.log)
        self.listener = Listener(
            models.vad,
            EndpointPolicy(
                threshold=settings.vad_threshold,
                silence_s=(tenant.assistant.endpoint_silence_ms or settings.endpoint_silence_ms) / 1000,
                min_speech_s=settings.min_speech_ms / 1000,
                speculate_s=settings.speculate_after_ms / 1000,
                # A business that asked for more silence than the fallback keeps it.
                fallback_s=max(settings.turn_fallback_ms, tenant.assistant.endpoint_silence_ms or 0) / 1000
                if turn
                else None,
                turn_threshold=settings.turn_threshold,
                turn_pause_s=settings.turn_pause_ms / 1000,
                barge_in_threshold=settings.barge_in_threshold,
                barge_in_min_s=settings.barge_in_min_ms / 1000,
                echo_margin=settings.echo_margin,
            ),
            publish,
            self.log,
            clock,
            lag_s=self._to_model_rate.lag_s,
            playback=self.playout if settings.barge_in else None,
        )
        self.dialogue = dialogue(self.log)
        self.cards = CardGuard(publish, self.log)
        self.turns = TurnTracker(publish)
        self._recorder = CallRecorder(calls, call.tenant_id, call.id, self.log)
        if turn is not None:
            self.bus.subscribe(TurnJudge(turn, publish, self.work, self.log))
        for stage in (
            self.listener,
            Transcriber(models.stt, publish, self.work, self.log, self.cards, clock),
            Responder(self.dialogue, publish, self.work, self.log, clock),
            Speaker(models.tts, self.playout, models.foreground, publish, self.work, self.log, clock),
            CallControl(tenant, publish, self.log),
            CallLimits(
                tenant.telephony,
                publish,
                self.log,
                busy=lambda: self.work.busy,
                playing=lambda: self.playout.buffered_seconds,
            ),
            self.turns,
            self._recorder,
            self,
        ):
            self.bus.subscribe(stage)
        self._samples_in = 0
        self._started = clock()
        self._ended = False
        self.leaving: TransferRequested | HangupRequested | None = None

    def subscribe(self, stage: Stage) -> None:
        self.bus.subscribe(stage)

    def handle(self, event: Event) -> None:
        if isinstance(event, TransferRequested | HangupRequested) and self.leaving is None:
            self.leaving = event

    @property
    def audio_time(self) -> float:
        return self._samples_in / self.rate

    @property
    def busy(self) -> bool:
        """Something the caller is waiting for is in progress: transcription, a reply, or its synthesis."""
        return self.work.busy

    async def listened(self) -> None:
        """Wait for what runs while a caller listens to the reply (preparing the next turn). A simulated line that
        does not play the reply in real time waits here, so the next turn starts as it would on a call."""
        await self.dialogue.conversation.background_done()

    async def start(self) -> None:
        self.log.info("call started", channel=self.call.channel, caller=self.call.caller, callee=self.call.callee)
        self.bus.publish(CallStarted(self.call))

    def feed(self, frame: Pcm16) -> None:
        """One frame of caller audio, 16-bit mono at the line's rate."""
        self._samples_in += frame.size
        audio = self._to_model_rate(np.ascontiguousarray(frame, dtype=np.int16))
        if audio.size:
            self.bus.publish(AudioIn(audio=to_float(audio), at=self.audio_time))

    def dtmf(self, digit: str) -> None:
        """The caller pressed a key."""
        # Not which key: a caller may key in a card number. CallControl names the key it acts on.
        self.log.info("caller pressed a key")
        self.bus.publish(Dtmf(digit))

    def say(self, text: str) -> None:
        """A typed caller turn: skips VAD and STT."""
        said = self.cards.said(CallerSaid(text=text, source="text", endpoint_wall=self._clock()))
        self.log.info("caller typed", text=said.text)
        self.bus.publish(said)

    async def end(self, reason: str, *, wait: bool = True) -> CallRecord:
        """Finish the call: by default after what is in progress, or at once (``wait=False``)."""
        if self._ended:
            return self.call
        self._ended = True
        if wait:
            await self.work.idle()
        else:
            await self.work.cancel_all()
        call = self.call
        call.ended_at = utcnow()
        call.duration_s = round(self._clock() - self._started, 2)
        call.status = "ended"
        call.end_reason = reason
        transferred = isinstance(self.leaving, TransferRequested)
        if isinstance(self.leaving, TransferRequested):
            call.meta["transfer_target"] = self.leaving.target
        call.outcomes = call_outcomes(self.dialogue.facts(transferred=transferred))
        call.outcome = call.outcomes[0]
        tokens = self.dialogue.conversation.tokens
        call.llm_tokens_in, call.llm_tokens_out = tokens.read, tokens.written
        # Only a call with something said is worth a summary; the analysis runs later, off the call's path.
        call.analysis_state = "pending" if self.dialogue.intents and self._analysis else None
        self.bus.publish(CallEnded(call))
        await self._recorder.close()
        self.log.info("call ended", reason=reason, outcomes=call.outcomes, seconds=call.duration_s)
        return call


def _turn_detector(models: Models, tenant: TenantDocument, log: structlog.stdlib.BoundLogger) -> TurnDetector | None:
    """The turn model for this call, unless the box or the business turned it off."""
    if models.turn is None or tenant.assistant.turn_detection is False:
        return None
    if models.turn.sample_rate != models.vad.sample_rate:
        log.warning(
            "the turn model hears another sample rate than the VAD; the caller's turns end on silence alone",
            turn_rate=models.turn.sample_rate,
            vad_rate=models.vad.sample_rate,
        )
        return None
    return models.turn
