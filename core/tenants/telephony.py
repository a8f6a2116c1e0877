"""The tenant file's ``[telephony]`` table: how the business's phone calls are handled, whatever carries them."""

from __future__ import annotations

from typing import Literal

import msgspec

BUSY_MESSAGE = "Sorry, all our lines are busy at the moment. Please call again in a few minutes. Goodbye."
NO_TRANSFER = "off"


class Telephony(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Outside the opening hours in [hours]: a different greeting, and where "a person" goes ("" = the [transfer]
    # number as in hours, "off" = nobody: the assistant takes a message instead).
    after_hours_greeting: str = ""
    after_hours_transfer: str = ""
    recording: bool = False  # a stereo WAV of each call (caller left, assistant right) in the data directory
    max_call_minutes: float = 20.0  # then the assistant says so and ends the call (0 = no limit)
    silence_timeout_seconds: float = 30.0  # caller silent this long: "are you still there?", then goodbye (0 = off)
    when_busy: Literal["reject", "message"] = "reject"  # over the box's call limit: 486 Busy Here, or a message
    busy_message: str = BUSY_MESSAGE


def telephony_problems(telephony: Telephony) -> list[str]:
    problems = []
    if telephony.max_call_minutes < 0 or 0 < telephony.max_call_minutes < 1 or telephony.max_call_minutes > 240:
        problems.append("telephony.max_call_minutes must be 0 (no limit) or 1 to 240")
    if telephony.silence_timeout_seconds < 0 or 0 < telephony.silence_timeout_seconds < 5:
        problems.append("telephony.silence_timeout_seconds must be 0 (off) or at least 5")
    if telephony.when_busy == "message" and not telephony.busy_message.strip():
        problems.append("telephony.busy_message is empty but telephony.when_busy is 'message'")
    return problems
