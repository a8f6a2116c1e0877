"""Text from an HTML page: the readable article (trafilatura), the visible text that readability extractors drop
as boilerplate (service grids of layout builders, footers with the address), and structured data (JSON-LD,
OpenGraph, the meta description). Also the page's links, for crawling."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import lxml.html
import trafilatura
from lxml import etree

from kb.document import Document, Section
from kb.errors import SourceError
from kb.text import markdown_sections

_SKIP = {"script", "style", "noscript", "template", "svg", "iframe", "head", "nav", "form", "button", "select"}
_INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "br", "cite", "code", "data", "dfn", "em", "i", "img", "kbd", "label", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr", "font",
}  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_MARKUP = re.compile(r"[*_`#|>]+")
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_STOP = re.compile(r"\s+([.,;:!?])")
_JSONLD_SKIP = {"@context", "@id", "image", "logo", "url", "sameAs", "thumbnailUrl", "contentUrl", "@graph"}


@dataclass(frozen=True, slots=True)
class Page:
    document: Document
    links: list[str]


def extract_html(html: str, url: str) -> Page:
    try:
        tree = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        raise SourceError(f"{url}: not readable HTML ({exc})") from None
    title = _title(tree)
    structured = _structured(tree)
    links = _links(tree, url)
    _strip(tree)
    cleaned = lxml.html.tostring(tree, encoding="unicode")
    main = trafilatura.extract(
        cleaned, url=url, output_format="markdown", include_tables=True, include_formatting=True,
        include_links=False, include_images=False, favor_recall=True, deduplicate=False,
    ) or ""  # fmt: skip
    sections = markdown_sections(main)
    seen = _normal(main)
    for headings, text in _visible_blocks(tree):
        # The visible text the article extractor left out: grids of cards, side panels, the footer.
        if _normal(text) not in seen:
            sections.append(Section(headings, text))
            seen += " " + _normal(text)
    if structured:
        sections.append(Section((title or "About this page",), "\n".join(structured)))
    document = Document(location=url, title=title, sections=_merge_adjacent(sections))
    return Page(document, links)


def _strip(tree: Any) -> None:
    """Drop what a visitor does not read as content (navigation, scripts, hidden parts); line breaks stay."""
    for element in list(tree.iter()):
        if not isinstance(element.tag, str):
            continue
        if element.tag == "br":
            element.tail = "\n" + (element.tail or "")
        elif ((element.tag in _SKIP and element.tag != "head") or _hidden(element)) and element.getparent() is not None:
            element.drop_tree()


def _title(tree: Any) -> str:
    for path in ("//meta[@property='og:title']/@content", "//title/text()", "//h1//text()"):
        found = [str(v).strip() for v in tree.xpath(path) if str(v).strip()]
        if found:
            return _SPACE.sub(" ", found[0])
    return ""


def _normal(text: str) -> str:
    return _SPACE_BEFORE_STOP.sub(r"\1", _SPACE.sub(" ", _MARKUP.sub(" ", text))).strip().lower()


def _hidden(element: Any) -> bool:
    return (
        element.get("hidden") is not None
        or element.get("aria-hidden") == "true"
        or bool(_HIDDEN_STYLE.search(element.get("style") or ""))
    )


def _visible_blocks(tree: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """Each run of visible text between block boundaries, with the headings above it."""
    path: list[tuple[int, str]] = []
    body = tree.find("body")
    if body is None:
        return

    def text_of(element: Any) -> str:
        return _SPACE.sub(" ", "".join(element.itertext())).strip()

    def walk(element: Any) -> Iterator[tuple[tuple[str, ...], str]]:
        for child in element:
            if not isinstance(child.tag, str) or child.tag in _SKIP or _hidden(child):
                if isinstance(child.tag, str) and child.tail and child.tail.strip():
                    yield tuple(h for _, h in path), child.tail.strip()
                continue
            if child.tag in _HEADINGS:
                level, title = _HEADINGS[child.tag], text_of(child)
                while path and path[-1][0] >= level:
                    path.pop()
                if title:
                    path.append((level, title))
            elif child.tag in _INLINE or not any(isinstance(c.tag, str) and c.tag not in _INLINE for c in child):
                text = text_of(child)
                if text:
                    yield tuple(h for _, h in path), text
            else:
                if child.text and child.text.strip():
                    yield tuple(h for _, h in path), _SPACE.sub(" ", child.text).strip()
                yield from walk(child)
            if child.tail and child.tail.strip() and child.tag not in _INLINE:
                yield tuple(h for _, h in path), _SPACE.sub(" ", child.tail).strip()

    yield from walk(body)


def _merge_adjacent(sections: list[Section]) -> list[Section]:
    """One section per run of text under the same headings (a grid yields one block per card cell)."""
    merged: list[Section] = []
    for section in sections:
        if merged and merged[-1].headings == section.headings:
            merged[-1] = Section(section.headings, f"{merged[-1].text}\n{section.text}")
        else:
            merged.append(section)
    return merged


def _structured(tree: Any) -> list[str]:
    lines: list[str] = []
    for path, label in (
        ("//meta[@name='description']/@content", "Description"),
        ("//meta[@property='og:description']/@content", "Description"),
        ("//meta[@property='og:site_name']/@content", "Site"),
    ):
        for value in tree.xpath(path):
            line = f"{label}: {_SPACE.sub(' ', str(value)).strip()}"
            if str(value).strip() and line not in lines:
                lines.append(line)
    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except json.JSONDecodeError:
            continue  # broken structured data is common and carries nothing we can use
        for line in _flatten(data, ()):
            if line not in lines:
                lines.append(line)
    return lines


def _flatten(value: Any, path: tuple[str, ...]) -> Iterator[str]:
    if isinstance(value, dict):
        graph = value.get("@graph")
        if isinstance(graph, list):
            yield from _flatten(graph, path)
        kind = value.get("@type")
        if isinstance(kind, str) and not path:
            yield f"Type: {_words(kind)}"
        for key, item in value.items():
            if key in _JSONLD_SKIP or key == "@type":
                continue
            yield from _flatten(item, (*path, _words(key))[-2:])
    elif isinstance(value, list):
        for item in value:
            yield from _flatten(item, path)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        text = _SPACE.sub(" ", str(value)).strip()
        if text and not text.startswith(("http://", "https://")):
            label = " ".join(path) or "Value"
            yield f"{label[:1].upper()}{label[1:]}: {text}"


def _words(key: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key.lstrip("@")).lower()


def _links(tree: Any, base: str) -> list[str]:
    base = next((str(h) for h in tree.xpath("//base/@href")), base)
    links = []
    for href in tree.xpath("//a/@href"):
        href = str(href).strip()
        if href and not href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
            links.append(urljoin(base, href).split("#", 1)[0])
    return list(dict.fromkeys(links))
