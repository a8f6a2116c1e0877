"""Heading-aware chunks of about ``size`` tokens with overlap, each carrying its source and heading path.

A chunk never mixes two documents. Inside a document, short sections share a chunk (a grid of service cards
becomes one chunk, each card's heading kept in its text) while sections of some length (a quarter of a chunk)
start their own, so a passage is about one thing; a long section is cut at
paragraph, then sentence, then word boundaries, the next piece starting with the last sentences of the one
before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kb.document import Document

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(£$€])")


@dataclass(frozen=True, slots=True)
class Chunk:
    location: str  # the page URL or file the text is from
    title: str
    headings: tuple[str, ...]
    text: str
    tokens: int

    @property
    def heading(self) -> str:
        return " > ".join(self.headings)


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    tokens: int


class Chunker:
    def __init__(self, count: Callable[[str], int], size: int, overlap: int) -> None:
        self._count = count
        self._size = size
        self._overlap = overlap

    def chunks(self, document: Document) -> Iterator[Chunk]:
        groups: list[tuple[tuple[str, ...], list[_Unit]]] = []
        for section in document.sections:
            pieces = [u for p in section.text.split("\n") if p.strip() for u in self._units(p.strip())]
            if not pieces:
                continue
            current = sum(u.tokens for _, units in groups for u in units)
            added = sum(u.tokens for u in pieces)
            changed = bool(groups) and groups[-1][0] != section.headings
            small = self._size // 4
            # Only small sections share a chunk (a grid of cards); two topics of some length each get their own.
            if changed and current >= small and (current + added > self._size or added >= small):
                yield from self._close(document, groups)
                groups = []
            groups.append((section.headings, pieces))
        if groups:
            yield from self._close(document, groups)

    def _close(self, document: Document, groups: list[tuple[tuple[str, ...], list[_Unit]]]) -> Iterator[Chunk]:
        """Small neighbouring sections share a chunk under their common headings; each one's own heading stays
        in the text."""
        common = groups[0][0]
        for headings, _ in groups[1:]:
            common = _common(common, headings)
        units: list[_Unit] = []
        for headings, pieces in groups:
            label = " > ".join(headings[len(common) :])
            if label and len(groups) > 1:
                units.append(_Unit(label + ":", self._count(label)))
            units += pieces
        yield from self._pack(document, common, units)

    def _units(self, paragraph: str) -> Iterator[_Unit]:
        tokens = self._count(paragraph)
        if tokens <= self._size // 2:
            yield _Unit(paragraph, tokens)
            return
        for sentence in _SENTENCE.split(paragraph):
            tokens = self._count(sentence)
            if tokens <= self._size // 2:
                yield _Unit(sentence, tokens)
                continue
            words = sentence.split()
            step = max(1, len(words) * (self._size // 2) // tokens)
            for start in range(0, len(words), step):
                piece = " ".join(words[start : start + step])
                yield _Unit(piece, self._count(piece))

    def _pack(self, document: Document, headings: tuple[str, ...], units: list[_Unit]) -> Iterator[Chunk]:
        current: list[_Unit] = []
        fresh = 0  # units in ``current`` not carried over from the chunk before
        for unit in units:
            if current and sum(u.tokens for u in current) + unit.tokens > self._size and fresh:
                yield self._chunk(document, headings, current)
                carried: list[_Unit] = []
                for previous in reversed(current):
                    if sum(u.tokens for u in carried) + previous.tokens > self._overlap:
                        break
                    carried.insert(0, previous)
                current, fresh = carried, 0
            current.append(unit)
            fresh += 1
        if current and fresh:
            yield self._chunk(document, headings, current)

    def _chunk(self, document: Document, headings: tuple[str, ...], units: list[_Unit]) -> Chunk:
        text = "\n".join(u.text for u in units)
        return Chunk(document.location, document.title, headings, text, sum(u.tokens for u in units))


def _common(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]
