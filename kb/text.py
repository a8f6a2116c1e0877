"""Plain text and Markdown: bytes decoded with their (declared or detected) encoding, Markdown cut at headings."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from kb.document import Document, Section
from kb.errors import SourceError

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")


def decode(data: bytes, declared: str | None, name: str) -> str:
    """Text from bytes: the declared encoding when it is known and fits, else a BOM, UTF-8, or a detected one."""
    if declared:
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            raise SourceError(f"{name}: declares the unknown text encoding '{declared}'") from None
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass  # a wrong declaration is common; detection below decides
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None or best.chaos > 0.2:
        raise SourceError(f"{name}: the text encoding cannot be recognised; save it as UTF-8 and add it again")
    return str(best)


def text_document(text: str, location: str, *, markdown: bool) -> Document:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    sections = markdown_sections(text) if markdown else [Section((), text.strip())]
    sections = [s for s in sections if s.text.strip()]
    title = next((s.headings[0] for s in sections if s.headings), location.rsplit("/", 1)[-1])
    return Document(location=location, title=title, sections=sections)


def markdown_sections(text: str) -> list[Section]:
    """Sections under their heading path, from ATX (``## x``) and setext (underlined) headings."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(tuple(h for _, h in path), body))
        lines.clear()

    def open_heading(level: int, title: str) -> None:
        flush()
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title.strip()))

    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            open_heading(len(match.group(1)), match.group(2))
        elif not in_fence and _SETEXT.match(line) and lines and lines[-1].strip():
            title = lines.pop()
            open_heading(1 if line.strip().startswith("=") else 2, title)
        else:
            lines.append(line)
    flush()
    return sections
