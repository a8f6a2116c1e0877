"""What a call leaves behind: the call itself and its turns, with the latency of each step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class Latency(msgspec.Struct, kw_only=True):
    """Milliseconds. ``voice_to_voice`` runs from the end of the caller's speech to the first reply audio:
    the silence the endpointer waited for (audio time) plus the processing after it (wall time)."""

    endpoint: float | None = None
    stt: float | None = None
    llm_first_token: float | None = None
    tts_first_audio: float | None = None
    voice_to_voice: float | None = None
    # A "one moment" said while a slow tool ran; reported on its own, never as the answer's voice_to_voice.
    filler_audio: float | None = None


class ToolCallRecord(msgspec.Struct, kw_only=True):
    """One tool call as the call log keeps it and the web UI shows it: plain JSON, a built-in tool's typed
    arguments and result encoded (``core.tools.base.Builtin``); the flow reads them typed again."""

    name: str
    arguments: dict[str, Any]
    result: Any = None
    ok: bool = True
    error: str | None = None
    latency_ms: float = 0.0


class TurnRecord(msgspec.Struct, kw_only=True):
    idx: int
    started_at: datetime
    source: str  # "greeting" | "audio" | "text"
    caller: str | None
    reply: str
    intent: str | None = None
    interrupted: bool = False
    latency_ms: Latency = msgspec.field(default_factory=Latency)
    tool_calls: list[ToolCallRecord] = msgspec.field(default_factory=list)
    plan: dict[str, Any] | None = None


class CallAnalysis(msgspec.Struct, kw_only=True):
    """What the post-call analysis made of a call (``core.aftercall``): written by the LLM under a grammar, its
    figures checked against the transcript. The outcome is not here: it comes from what happened."""

    summary: str
    sentiment: str  # "positive" | "neutral" | "negative"
    sentiment_confidence: float  # the model's probability of that label among the three
    topics: list[str] = msgspec.field(default_factory=list)
    lead_score: int | None = None  # 1 (cold) to 5 (ready to buy), for a call that captured a lead
    lead_reason: str | None = None
    dropped: list[str] = msgspec.field(default_factory=list)  # summary sentences left out: figures not said
    seconds: float = 0.0  # how long the model took


class CallRecord(msgspec.Struct, kw_only=True):
    id: str
    tenant_id: str
    assistant_id: str
    channel: str  # "simulated" | "sip" | "webrtc"
    caller: str | None
    callee: str | None
    started_at: datetime
    ended_at: datetime | None = None
    duration_s: float | None = None
    status: str = "active"
    outcome: str | None = None
    outcomes: list[str] = msgspec.field(default_factory=list)  # the outcome first, then what else the call did
    end_reason: str | None = None
    meta: dict[str, Any] = msgspec.field(default_factory=dict)
    # The LLM's tokens read (every prompt, cached or not) and written, by the call and its analysis: its usage.
    llm_tokens_in: int = 0
    llm_tokens_out: int = 0
    # "pending" until the post-call analysis ran, then "done" or "failed"; None: nothing to analyse.
    analysis_state: str | None = None
    analysis: CallAnalysis | None = None
