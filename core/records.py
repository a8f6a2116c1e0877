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
    end_reason: str | None = None
    meta: dict[str, Any] = msgspec.field(default_factory=dict)
