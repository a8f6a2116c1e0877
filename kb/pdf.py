"""Text from a PDF's text layer; a page without one is read by OCR when tesseract is installed, else reported."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from kb.document import Document, Section
from kb.errors import SourceError

log = logging.getLogger(__name__)

_OCR_SECONDS = 60


def tesseract() -> str | None:
    """The tesseract program, when installed (Debian: tesseract-ocr)."""
    return shutil.which("tesseract")


def extract_pdf(data: bytes, location: str, *, max_pages: int, ocr: str | None) -> Document:
    if not data.strip():
        raise SourceError(f"{location}: the PDF is empty")
    if not data.lstrip().startswith(b"%PDF"):
        raise SourceError(f"{location}: not a PDF file")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("password required")
        pages = list(reader.pages)
    except FileNotDecryptedError:
        raise SourceError(
            f"{location}: the PDF is encrypted with a password; save an unprotected copy and add that"
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SourceError(f"{location}: the PDF cannot be read ({exc})") from None
    if not pages:
        raise SourceError(f"{location}: the PDF has no pages")
    if len(pages) > max_pages:
        raise SourceError(f"{location}: {len(pages)} pages is over the limit of {max_pages} (kb.max_pdf_pages)")
    title = _title(reader, location)
    document = Document(location=location, title=title)
    image_only = []
    for number, page in enumerate(pages, start=1):
        try:
            text = (page.extract_text() or "").strip()
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            document.notes.append(f"page {number} cannot be read ({exc})")
            continue
        if not text and ocr is not None:
            text = _ocr(page, ocr, f"{location} page {number}")
        if text:
            document.sections.append(Section((title, f"page {number}"), text))
        else:
            image_only.append(number)
    if image_only:
        hint = "OCR found no text on it" if ocr else "install tesseract-ocr to read scanned pages"
        pages_text = ", ".join(str(n) for n in image_only)
        document.notes.append(f"page{'s' if len(image_only) > 1 else ''} {pages_text}: image only, no text ({hint})")
    if not document.sections:
        raise SourceError(f"{location}: no text found in the PDF ({'; '.join(document.notes)})")
    return document


def _title(reader: PdfReader, location: str) -> str:
    try:
        title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError, TypeError):
        title = None
    return str(title).strip() if title and str(title).strip() else location.rsplit("/", 1)[-1]


def _ocr(page: object, program: str, where: str) -> str:
    texts = []
    try:
        images = list(page.images)  # type: ignore[attr-defined]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        log.warning("cannot take the images out of %s for OCR: %s", where, exc)
        return ""
    with tempfile.TemporaryDirectory(prefix="kb-ocr-") as tmp:
        for i, image in enumerate(images):
            path = Path(tmp) / f"{i}{Path(image.name).suffix or '.png'}"
            path.write_bytes(image.data)
            try:
                done = subprocess.run(
                    [program, str(path), "stdout"], capture_output=True, text=True, timeout=_OCR_SECONDS, check=False
                )
            except subprocess.TimeoutExpired:
                log.warning("OCR of %s took over %d s; skipped", where, _OCR_SECONDS)
                continue
            if done.returncode != 0:
                log.warning("OCR of %s failed: %s", where, done.stderr.strip()[-300:])
                continue
            texts.append(done.stdout.strip())
    return "\n".join(t for t in texts if t)
