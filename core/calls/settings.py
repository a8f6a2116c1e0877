"""How a call listens and speaks: the ``[calls]`` section of the settings."""

from __future__ import annotations

from typing import Literal

import msgspec


class CallSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    telephony_rate: Literal[8000, 16000] = 8000
    endpoint_silence_ms: int = 500
    speculate_after_ms: int = 150
    # The turn model (models.turn) is asked at each pause (speculate_after_ms): a pause it judges the end of the
    # turn (turn_threshold) ends it after turn_pause_ms of silence; any other after turn_fallback_ms. Off:
    # endpoint_silence_ms alone decides. The README's "When the caller has finished" says how these were chosen.
    turn_detection: bool = True
    turn_threshold: float = 0.5
    turn_pause_ms: int = 300
    turn_fallback_ms: int = 800
    vad_threshold: float = 0.5
    barge_in: bool = True
    barge_in_threshold: float = 0.8
    barge_in_min_ms: int = 64
    echo_margin: float = 0.35
    min_speech_ms: int = 120
    # A summary, sentiment and topics of each finished call, written while no call is in progress (core.aftercall).
    analysis: bool = True
    max_reply_tokens: int = 160
    history_turns: int = 8
