"""What extraction produces: a document as a list of sections, each under a heading path."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Section:
    headings: tuple[str, ...]  # outermost first; empty when the text has no heading
    text: str


@dataclass(slots=True)
class Document:
    location: str  # the page URL or the file name
    title: str
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be read, for the person adding the source

    def text(self) -> str:
        parts = []
        for section in self.sections:
            if section.headings:
                parts.append(" > ".join(section.headings))
            parts.append(section.text)
        return "\n".join(parts)
