"""How a call listens and speaks: the ``[calls]`` section of the settings."""

from __future__ import annotations

from typing import Literal

import msgspec


class CallSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    telephony_rate: Literal[8000, 16000] = 8000
    endpoint_silence_ms: int = 500
    speculate_after_ms: int = 150
    vad_threshold: float = 0.5
    barge_in: bool = True
    barge_in_threshold: float = 0.8
    barge_in_min_ms: int = 64
    echo_margin: float = 0.35
    min_speech_ms: int = 120
    max_reply_tokens: int = 160
    history_turns: int = 8
