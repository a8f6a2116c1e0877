"""The events that flow through a call. Plain, immutable data: each stage reacts to some and emits others.

Times named ``at`` are audio time in seconds since the call began (frames fed × 20 ms); times named ``wall``
are ``time.perf_counter()`` readings. Latency that a caller hears mixes both: the silence waited in audio time
plus the processing after it in wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.records import CallRecord, ToolCallRecord, TurnRecord
from models.interfaces import Float32, Pcm16


@dataclass(frozen=True, slots=True)
class CallStarted:
    call: CallRecord


@dataclass(frozen=True, slots=True)
class AudioIn:
    """One frame of caller audio, resampled to the models' 16 kHz."""

    audio: Float32
    at: float


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at: float


@dataclass(frozen=True, slots=True)
class HoldSpeech:
    """The caller's voice over the assistant's, not yet long enough to be a barge-in: the assistant goes quiet
    at once (``held``), and goes on where it stopped, nothing dropped, if it was not the caller (``held`` False).
    A confirmed barge-in ends the hold by itself."""

    held: bool
    at: float


@dataclass(frozen=True, slots=True)
class BargeIn:
    """The caller started talking over the assistant: the one interruption every stage reacts to. The speaker
    stops and drops what is queued, the dialogue stops generating (what it decides still happens, unsaid), the
    turn is recorded as interrupted."""

    at: float


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    """The caller has been silent long enough that transcription may start, but not yet long enough to be sure
    the turn is over: the speech so far, to transcribe speculatively."""

    audio: Float32
    speech_end: float


@dataclass(frozen=True, slots=True)
class TurnJudged:
    """The turn model's view of the pause that began at ``speech_end``: how likely the caller has finished, and
    the seconds the decision took."""

    speech_end: float
    probability: float
    seconds: float


@dataclass(frozen=True, slots=True)
class SpeechResumed:
    """The caller spoke again before the turn was over: any speculative transcription is void."""

    at: float


@dataclass(frozen=True, slots=True)
class CallerDrafted:
    """The caller's words so far, transcribed at a pause before the turn is known to be over: the reply's prompt
    may be prepared with them, but nothing is answered until ``CallerSaid``."""

    text: str


@dataclass(frozen=True, slots=True)
class UtteranceEnded:
    audio: Float32
    speech_start: float
    speech_end: float
    endpoint_at: float
    endpoint_wall: float


@dataclass(frozen=True, slots=True)
class CallerSaid:
    """The caller's words for one turn, from STT or typed (``source="text"``)."""

    text: str
    source: str
    endpoint_wall: float
    speech_end: float | None = None
    endpoint_at: float | None = None
    stt_ms: float | None = None
    speech_start: float | None = None


@dataclass(frozen=True, slots=True)
class CallerCorrected:
    """An earlier turn's words as they must be kept from now on: a card number read out over two turns is only
    seen to be one at the second, and the part in the first is then redacted. Whoever kept ``was`` (the history,
    the turn's record, the live view) keeps ``now`` instead."""

    was: CallerSaid
    now: CallerSaid
    removed: tuple[str, ...]  # the digits taken out, so that copies of them (a plan's slots) go too


@dataclass(frozen=True, slots=True)
class CallerSilenced:
    """A stretch of the caller's audio, in seconds since the call began, that the recording must not keep: they
    read out card details there."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class ReplyStarted:
    turn: int
    wall: float
    caller: CallerSaid | None


@dataclass(frozen=True, slots=True)
class FirstToken:
    """The first words of the reply are ready, ``ms`` after the turn's generation began."""

    turn: int
    wall: float
    ms: float


@dataclass(frozen=True, slots=True)
class ReplyText:
    """A clause or sentence of the reply, ready to be spoken. A filler ("one moment") is spoken like any other
    clause but never counts as the first audio of the answer."""

    turn: int
    text: str
    wall: float
    filler: bool = False


@dataclass(frozen=True, slots=True)
class ReplyDone:
    turn: int
    text: str
    intent: str | None
    plan: dict[str, Any] | None
    after: TransferRequested | HangupRequested | None = None  # once this reply has been heard
    expect: str | None = None  # what the caller is asked for next ("digits", "address", "yes_no")


@dataclass(frozen=True, slots=True)
class ToolCalled:
    turn: int
    record: ToolCallRecord


@dataclass(frozen=True, slots=True)
class ListenFor:
    """The caller is about to give something that takes longer to say (digits, an address): the endpointer waits
    longer before it decides the turn is over."""

    expect: str | None


@dataclass(frozen=True, slots=True)
class AudioOut:
    turn: int
    pcm: Pcm16
    first: bool  # the first audio of the answer (fillers excluded)
    wall: float
    filler: bool = False


@dataclass(frozen=True, slots=True)
class SpeechDone:
    """Every clause of the turn's reply has been synthesized into the playout buffer."""

    turn: int


@dataclass(frozen=True, slots=True)
class Dtmf:
    """The caller pressed a key (RFC 4733 or SIP INFO)."""

    digit: str


@dataclass(frozen=True, slots=True)
class SayLine:
    """A fixed line to speak as its own turn, without the LLM (the greeting, a handover)."""

    text: str
    intent: str
    caller: str | None = None
    after: TransferRequested | HangupRequested | None = None


@dataclass(frozen=True, slots=True)
class TransferRequested:
    """Hand the call to a person at ``target``. Published once the handover line is in the playout buffer: the
    transport transfers when the buffer has drained, so the caller hears the whole line first."""

    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class HangupRequested:
    """End the call from our side, once the playout buffer has drained (as for ``TransferRequested``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class TurnCompleted:
    record: TurnRecord


@dataclass(frozen=True, slots=True)
class TurnCorrected:
    """A finished turn whose caller's words were redacted after it was recorded (see ``CallerCorrected``)."""

    record: TurnRecord


@dataclass(frozen=True, slots=True)
class CallEnded:
    call: CallRecord


Event = (
    CallStarted
    | AudioIn
    | SpeechStarted
    | HoldSpeech
    | BargeIn
    | SpeechPaused
    | TurnJudged
    | SpeechResumed
    | CallerDrafted
    | UtteranceEnded
    | CallerSaid
    | CallerCorrected
    | CallerSilenced
    | ReplyStarted
    | FirstToken
    | ReplyText
    | ReplyDone
    | ToolCalled
    | ListenFor
    | AudioOut
    | SpeechDone
    | Dtmf
    | SayLine
    | TransferRequested
    | HangupRequested
    | TurnCompleted
    | TurnCorrected
    | CallEnded
)
