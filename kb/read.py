"""From fetched or uploaded bytes to a document, by type: HTML, PDF, plain text or Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from kb.document import Document
from kb.errors import SourceError
from kb.html import extract_html
from kb.pdf import extract_pdf
from kb.text import decode, text_document

_BY_SUFFIX = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
}
KINDS = {"text/html": "html", "application/xhtml+xml": "html", "application/pdf": "pdf", "text/plain": "text"}
KINDS |= {"text/markdown": "markdown", "text/x-markdown": "markdown"}


@dataclass(frozen=True, slots=True)
class ReadOptions:
    max_pdf_pages: int
    ocr: str | None  # the tesseract program, when installed


@dataclass(slots=True)
class Read:
    document: Document
    links: list[str] = field(default_factory=list)


def content_type_of(name: str, data: bytes) -> str:
    """A file's type from its name, or from its first bytes when the name does not say."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    head = data[:512].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "application/pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    raise SourceError(f"{name}: unsupported file type; add PDF, HTML, plain text (.txt) or Markdown (.md) files")


def read(data: bytes, content_type: str, charset: str | None, location: str, options: ReadOptions) -> Read:
    kind = KINDS.get(content_type)
    if kind is None:
        shown = content_type or "no content type"
        raise SourceError(f"{location}: not a web page, PDF or text ({shown})")
    if kind == "pdf":
        return Read(extract_pdf(data, location, max_pages=options.max_pdf_pages, ocr=options.ocr))
    text = decode(data, charset or (None if kind != "html" else _meta_charset(data)), location)
    if not text.strip():
        raise SourceError(f"{location}: empty")
    if kind == "html":
        page = extract_html(text, location)
        if not page.document.sections:
            raise SourceError(f"{location}: no readable text on the page")
        return Read(page.document, page.links)
    return Read(text_document(text, location, markdown=kind == "markdown"))


def _meta_charset(data: bytes) -> str | None:
    head = data[:2048].decode("ascii", errors="ignore").lower()
    for marker in ('charset="', "charset='", "charset="):
        at = head.find(marker)
        if at >= 0:
            value = head[at + len(marker) :].split('"')[0].split("'")[0].split(";")[0].split(">")[0].strip()
            if value:
                return value
    return None
