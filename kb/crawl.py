"""A same-site crawl, breadth first from one page, bounded by depth, pages, bytes and time; robots.txt obeyed.

Pages that are missing (4xx), of a type we do not read, or unreadable are skipped and noted. A page that cannot
be fetched at all (the server is down, the transfer broke off, a 5xx) fails the crawl: the previous version of
the source is then kept rather than replaced by part of the site.
"""

from __future__ import annotations

import logging
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from kb.document import Document
from kb.errors import SourceError
from kb.fetch import Fetcher, FetchFailed, TimeUp
from kb.read import ReadOptions, read

log = logging.getLogger(__name__)

_SKIP_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".css", ".js", ".zip", ".gz", ".mp3", ".mp4",
    ".mov", ".avi", ".woff", ".woff2", ".ttf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".xml", ".json",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CrawlLimits:
    depth: int
    pages: int
    total_bytes: int
    seconds: float


@dataclass(slots=True)
class Crawl:
    documents: list[Document] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bytes: int = 0


def site_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


async def crawl(
    fetcher: Fetcher,
    start: str,
    limits: CrawlLimits,
    options: ReadOptions,
    agent: str,
    on_page: Callable[[int, str], None],
) -> Crawl:
    result = Crawl()
    deadline = time.monotonic() + limits.seconds
    queue: list[tuple[str, int]] = [(start, 0)]
    seen = {start}
    robots: dict[str, urllib.robotparser.RobotFileParser] = {}
    site: str | None = None
    while queue:
        url, depth = queue.pop(0)
        first = site is None
        if len(result.documents) >= limits.pages:
            result.notes.append(
                f"stopped at {limits.pages} pages (kb.max_pages or --max-pages); {len(queue) + 1} not read"
            )
            break
        if time.monotonic() > deadline:
            result.notes.append(f"stopped after {limits.seconds:.0f} s (kb.max_crawl_seconds)")
            break
        try:
            # Each request gets the time left (kb.max_crawl_seconds) as its deadline: a server that trickles a
            # page in byte by byte cannot hold the crawl past its limit.
            allowed = await _allowed(fetcher, robots, url, agent, deadline)
            fetched = await fetcher.get(url, deadline=deadline) if allowed else None
        except TimeUp:
            stopped = f"stopped after {limits.seconds:g} s (kb.max_crawl_seconds): the time limit was reached"
            log.warning("crawl from %s %s while fetching %s; %d pages kept", start, stopped, url, len(result.documents))
            if first:
                raise SourceError(f"{url}: {stopped} before the first page arrived") from None
            result.notes.append(f"{stopped} while fetching {url}; the {len(result.documents)} pages before it kept")
            break
        if fetched is None:
            if first:
                raise SourceError(f"{url}: the site's robots.txt does not allow fetching it")
            result.notes.append(f"{url}: not fetched (robots.txt)")
            continue
        result.bytes += len(fetched.body)
        if first:
            site = site_of(fetched.url)
        elif site_of(fetched.url) != site:
            result.notes.append(f"{url}: redirects off the site, to {fetched.url}; skipped")
            continue
        if fetched.status >= 500:
            raise FetchFailed(f"{url}: the server failed (HTTP {fetched.status})")
        if fetched.status >= 400:
            if first:
                raise SourceError(f"{url}: HTTP {fetched.status}")
            result.notes.append(f"{url}: HTTP {fetched.status}; skipped")
            continue
        try:
            page = read(fetched.body, fetched.content_type, fetched.charset, fetched.url, options)
        except SourceError as exc:
            if first:
                raise
            result.notes.append(f"{exc}; skipped")
            continue
        result.documents.append(page.document)
        result.notes += [f"{fetched.url}: {note}" for note in page.document.notes]
        on_page(len(result.documents), fetched.url)
        if result.bytes > limits.total_bytes:
            result.notes.append(f"stopped after {result.bytes >> 20} MB (kb.max_site_mb)")
            break
        if depth < limits.depth:
            for link in page.links:
                if link not in seen and site_of(link) == site and _worth_fetching(link):
                    seen.add(link)
                    queue.append((link, depth + 1))
    return result


def _worth_fetching(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and not parts.path.lower().endswith(_SKIP_SUFFIXES)


async def _allowed(
    fetcher: Fetcher, robots: dict[str, urllib.robotparser.RobotFileParser], url: str, agent: str, deadline: float
) -> bool:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    parser = robots.get(origin)
    if parser is None:
        parser = urllib.robotparser.RobotFileParser()
        fetched = await fetcher.get(f"{origin}/robots.txt", deadline=deadline)
        if fetched.status >= 500:
            raise FetchFailed(f"{origin}/robots.txt: the server failed (HTTP {fetched.status}); try again later")
        # A missing robots.txt (4xx) allows everything.
        parser.parse(fetched.body.decode("utf-8", errors="replace").splitlines() if fetched.status < 400 else [])
        robots[origin] = parser
    return parser.can_fetch(agent, url)
