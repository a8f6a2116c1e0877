"""The crawl's time limit (``kb.max_crawl_seconds``) holds inside a request too: a server on 127.0.0.1 that
trickles a page one byte a second cannot keep the crawl past its limit, and the pages fetched before it are
kept."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest

from core.outbound.guard import AddressPolicy, Guard
from kb.crawl import CrawlLimits, crawl
from kb.errors import SourceError
from kb.fetch import Fetcher, FetchLimits
from kb.read import ReadOptions
from tests.kb.site import Route, Site, serve

LIMIT_S = 2.0
MARGIN_S = 1.5  # the crawl's own work and the test server's start, well under one trickled byte's wait
TRICKLE_BYTES = 30  # 30 s at a byte a second: without a per-request deadline the crawl waits for all of it
OPTIONS = ReadOptions(max_pdf_pages=10, ocr=None)


def _trickle(request: BaseHTTPRequestHandler) -> None:
    """A page sent one byte a second; the read timeout (kb.fetch_timeout_s) never fires between bytes."""
    request.send_response(200)
    request.send_header("Content-Type", "text/html")
    request.send_header("Content-Length", str(TRICKLE_BYTES))
    request.end_headers()
    try:
        for byte in b"<p>slow</p>".ljust(TRICKLE_BYTES):
            request.wfile.write(bytes([byte]))
            request.wfile.flush()
            time.sleep(1)
    except OSError:
        pass  # the crawl hung up


def _site() -> Site:
    site = Site()
    site.page("/", '<h1>Harbour Plumbing</h1><p>Call-outs seven days.</p><a href="/prices">Prices</a> '
              '<a href="/slow">Slow</a>')  # fmt: skip
    site.page("/prices", "<h1>Prices</h1><p>A weekend call-out is 180 dollars.</p>")
    site.routes["/slow"] = Route(handler=_trickle)
    site.routes["/trickled-start"] = Route(handler=_trickle)
    return site


def _fetcher() -> Fetcher:
    guard = Guard(AddressPolicy(["127.0.0.1"], "kb.allow_hosts"))
    return Fetcher(guard, FetchLimits(max_bytes=1 << 20, max_decompressed=4 << 20, timeout_s=15), "test")


async def test_a_trickled_page_stops_the_crawl_at_its_limit_and_keeps_what_came_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limits = CrawlLimits(depth=1, pages=10, total_bytes=1 << 20, seconds=LIMIT_S)
    with serve(_site()) as site:
        started = time.monotonic()
        async with _fetcher() as fetcher:
            found = await crawl(fetcher, site.url + "/", limits, OPTIONS, "test", lambda *_: None)
        elapsed = time.monotonic() - started
    assert elapsed < LIMIT_S + MARGIN_S, f"the crawl took {elapsed:.1f} s"
    assert [d.location for d in found.documents] == [site.url + "/", site.url + "/prices"]
    assert "180 dollars" in found.documents[1].text()
    note = next(n for n in found.notes if "time limit" in n)
    assert "kb.max_crawl_seconds" in note and site.url + "/slow" in note and "2 pages before it kept" in note
    assert any("kb.max_crawl_seconds" in r.message and "/slow" in r.message for r in caplog.records)


async def test_a_first_page_that_trickles_fails_the_crawl_at_its_limit_with_a_clear_message() -> None:
    limits = CrawlLimits(depth=1, pages=10, total_bytes=1 << 20, seconds=LIMIT_S)
    with serve(_site()) as site:
        started = time.monotonic()
        async with _fetcher() as fetcher:
            with pytest.raises(SourceError, match=r"time limit was reached before the first page arrived"):
                await crawl(fetcher, site.url + "/trickled-start", limits, OPTIONS, "test", lambda *_: None)
        elapsed = time.monotonic() - started
    assert elapsed < LIMIT_S + MARGIN_S, f"the crawl took {elapsed:.1f} s"
