"""What counts as a looping transcript: the ways a decoder repeats itself, never the ways a caller does."""

from __future__ import annotations

import pytest

from models.transcript_checks import compression_ratio, looped, not_speech

LOOPS = [
    ", ".join(["you"] * 56),  # the one a caller heard answered
    "you you you you you you",
    "Thank you. Thank you. Thank you. Thank you.",
    "I need a plumber I need a plumber I need a plumber I need a plumber",
    "My number is, my number is, my number is, my number is",
    "ha" * 40,
    "The tap is leaking, " + "and the water is everywhere, " * 6,
]
CALLERS = [
    "No, no, no, that's fine.",
    "Yes yes yes, Tuesday works.",
    "It's double two, two, one, nine.",
    "My number is 0412 345 678.",
    "Thank you. Thank you so much, bye.",
    "The the tap is dripping.",
    "Can you come out on Tuesday? Tuesday morning if you can.",
    "It's four four four, four four five.",
    "My card number is four one one one, one one one one, one one one one, one one one one.",
    "4111 1111 1111 1111",
    "It's zero zero zero zero zero zero seven.",
    "Double one, double one, double one, double one.",
    " ".join(["one"] * 16),
    "Hi. Hi, sorry, is this the dentist?",
    "",
]


@pytest.mark.parametrize("text", LOOPS)
def test_a_decoder_loop_is_found(text: str) -> None:
    assert looped(text)


@pytest.mark.parametrize("text", CALLERS)
def test_a_caller_repeating_themselves_is_not_a_loop(text: str) -> None:
    assert not looped(text)


def test_compression_ratio_is_high_only_for_repeated_text() -> None:
    assert compression_ratio(", ".join(["you"] * 56)) > 5
    assert compression_ratio("Hi, my kitchen tap has been dripping all week. Can someone come out on Tuesday?") < 1.5


def test_no_speech_needs_both_signs() -> None:
    assert not_speech(0.9, -1.5)
    assert not not_speech(0.9, -0.3)  # sure of its words: someone spoke
    assert not not_speech(0.2, -1.5)  # speech, badly heard: still the caller's
