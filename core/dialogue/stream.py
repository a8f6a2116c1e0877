"""Reading a reply out of a JSON plan while it is still being generated, and cutting it into speakable pieces."""

from __future__ import annotations

import json
import re

from core.dialogue.figures import NUMBER_WORDS


class JsonStringField:
    """Feeds on the raw JSON text as it streams and returns the decoded characters of one string field."""

    def __init__(self, name: str) -> None:
        self._key = f'"{name}"'
        self._raw = ""
        self._start = -1  # index in _raw of the first character of the value
        self._pos = 0
        self.done = False

    def feed(self, piece: str) -> str:
        self._raw += piece
        if self._start < 0:
            key_at = self._raw.find(self._key)
            if key_at < 0:
                return ""
            match = re.compile(r'\s*:\s*"').match(self._raw, key_at + len(self._key))
            if not match:
                return ""
            self._start = self._pos = match.end()
        return self._decode()

    def _decode(self) -> str:
        out = []
        raw, i = self._raw, self._pos
        while i < len(raw) and not self.done:
            ch = raw[i]
            if ch == '"':
                self.done = True
                i += 1
                break
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            # An escape: wait until it is complete before decoding it.
            length = 6 if raw[i + 1 : i + 2] == "u" else 2
            if i + length > len(raw):
                break
            if length == 6 and 0xD800 <= int(raw[i + 2 : i + 6], 16) <= 0xDBFF:
                length = 12  # a surrogate pair: decode both halves together
                if i + length > len(raw):
                    break
            out.append(json.loads(f'"{raw[i : i + length]}"'))
            i += length
        self._pos = i
        return "".join(out)


_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*\s")
_CLAUSE_END = re.compile(r"[,;:—–]\s")
_WORD_END = re.compile(r"\S\s+")
# A piece that ends in a bare number may end inside a figure: a unit ("30" "pounds"), more digits ("+61" "3 9555
# 0142"), "am" or minutes may follow. Cut there, the figure would be spoken, and checked, in two halves.
_OPEN_NUMBER = re.compile(
    rf"(?:^|[\s-])(?:[+(]?\d[\d,.:)]*|{'|'.join(sorted(NUMBER_WORDS, key=len, reverse=True))}|hundred)[,;:—–]?\s*$",
    re.IGNORECASE,
)


class ClauseChunker:
    """Cuts streamed text at sentence ends; the first piece also at a clause end once it is long enough, or
    after a few words when no clause ends, so the first audio can start before the first sentence is complete.
    (At the LLM's 20-30 words a second on two cores, a 14-word first sentence kept the caller waiting about
    0.4 s longer than its first 5 words; the rest of the sentence is ready before those have been heard.) The
    first piece is not cut right after a bare number, which may be half a figure."""

    def __init__(self, first_clause_words: int = 3, min_words: int = 2, first_words: int = 5) -> None:
        self._buffer = ""
        self._first = True
        self._first_clause_words = first_clause_words
        self._min_words = min_words
        self._first_words = first_words

    def feed(self, text: str) -> list[str]:
        self._buffer += text
        pieces: list[str] = []
        while True:
            cut = self._cut()
            if cut is None:
                return pieces
            piece, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if piece:
                pieces.append(piece)
                self._first = False

    def flush(self) -> list[str]:
        piece, self._buffer = self._buffer.strip(), ""
        return [piece] if piece else []

    def _cut(self) -> int | None:
        for match in _SENTENCE_END.finditer(self._buffer):
            if len(self._buffer[: match.end()].split()) >= self._min_words:
                return match.end()
        if self._first:
            for match in _CLAUSE_END.finditer(self._buffer):
                piece = self._buffer[: match.end()]
                if len(piece.split()) >= self._first_clause_words and not _OPEN_NUMBER.search(piece):
                    return match.end()
            # After the first few words, at the first word that is not a bare number.
            for match in list(_WORD_END.finditer(self._buffer))[self._first_words - 1 :]:
                if not _OPEN_NUMBER.search(self._buffer[: match.end()]):
                    return match.end()
        return None


class RepeatGuard:
    """Says when a reply starts to say again, clause for clause, what it has already said: a small model can
    loop ("We don't take cash. We don't take credit cards. We don't take cash. ..."), with the repeats often
    wrong as well as tedious, until its token limit."""

    def __init__(self, min_words: int = 3) -> None:
        self._said = " "
        self._min_words = min_words

    def repeats(self, clause: str) -> bool:
        words = re.findall(r"[\w']+", clause.lower())
        if len(words) >= self._min_words and f" {' '.join(words)} " in self._said:
            return True
        self._said += " ".join(words) + " "
        return False
