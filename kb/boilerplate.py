"""Navigation, headers and footers repeat on every page of a site. A line already seen on an earlier page is
dropped, so a footer's address is stored once, not fifty times. A short line ("From £45", "Book now") is only
dropped once it has appeared on two earlier pages: on a second page it may well be a different fact."""

from __future__ import annotations

import re

from kb.document import Document, Section

_SPACE = re.compile(r"\s+")
_LONG = 30


def drop_repeats(documents: list[Document]) -> list[Document]:
    pages_with: dict[str, int] = {}
    out = []
    for document in documents:
        here: set[str] = set()
        sections = []
        for section in document.sections:
            kept = []
            for line in section.text.split("\n"):
                key = _SPACE.sub(" ", line).strip().lower()
                if not key:
                    continue
                before = pages_with.get(key, 0)
                here.add(key)
                if before >= 2 or (before and len(key) >= _LONG):
                    continue
                kept.append(line.strip())
            if kept:
                sections.append(Section(section.headings, "\n".join(kept)))
        for key in here:
            pages_with[key] = pages_with.get(key, 0) + 1
        if sections:
            out.append(Document(document.location, document.title, sections, document.notes))
    return out
