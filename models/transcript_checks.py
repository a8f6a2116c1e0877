"""Signs that Whisper's words are not what the caller said: a decoder stuck in a loop ("you, you, you, …" 56
times), or words made up over something that is not speech (line hiss, music on hold)."""

from __future__ import annotations

import re
import zlib

# Whisper's own thresholds: text that compresses better than this is a loop; a result is taken for silence when
# the no-speech token is this likely and the words themselves are this unlikely.
MAX_COMPRESSION = 2.4
NO_SPEECH = 0.6
NO_SPEECH_SCORE = -1.0
# A caller says "no, no, no" or "double two, two"; a decoder in a loop goes on. The same word this many times in
# a row, or the same phrase of two to five words, is a loop; but digits are read out as they are ("one one one
# one" in a card number, "zero zero zero" in a phone number), so a run of digits alone is never one.
_SAME_WORD = 6
_SAME_PHRASE = 4
_WORD = re.compile(r"[\w']+")
_DIGIT = re.compile(r"\d+|zero|oh|o|one|two|three|four|five|six|seven|eight|nine|ten|double|triple")
_DIGITS_IN_TEXT = re.compile(rf"\b(?:{_DIGIT.pattern})\b", re.IGNORECASE)


def compression_ratio(text: str) -> float:
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def looped(text: str) -> bool:
    """The words repeat the way a decoder in a loop repeats them, not the way a caller repeats themselves."""
    if compression_ratio(_DIGITS_IN_TEXT.sub("", text)) > MAX_COMPRESSION:
        return True
    words = [w.lower() for w in _WORD.findall(text)]
    for size, needed in ((1, _SAME_WORD), *((n, _SAME_PHRASE) for n in range(2, 6))):
        for start in range(len(words) - size * needed + 1):
            phrase = words[start : start + size]
            if all(_DIGIT.fullmatch(word) for word in phrase):
                continue
            if all(words[start + k * size : start + (k + 1) * size] == phrase for k in range(1, needed)):
                return True
    return False


def not_speech(no_speech_probability: float, score: float) -> bool:
    """Whisper heard no speech and is unsure of the words it wrote anyway."""
    return no_speech_probability > NO_SPEECH and score < NO_SPEECH_SCORE
