"""Fetching one URL over HTTP(S), safely: through the one guarded client (``core.outbound``: every hop checked
and connected to the address that was checked, redirects followed by it), sizes bounded as received and as
decompressed."""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from dataclasses import dataclass

import httpx

from core.outbound.client import UNREACHABLE, OutboundClient, Unreachable
from core.outbound.guard import Guard
from kb.errors import RefusedTarget, SourceError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str  # lower case, without parameters
    charset: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class FetchLimits:
    max_bytes: int  # as received
    max_decompressed: int
    timeout_s: float


class FetchFailed(SourceError):
    """The server could not be reached, broke off, or sent something unusable; worth trying again later."""


class TimeUp(SourceError):
    """A fetch was stopped at its deadline (the crawl's time limit), whatever stage it had reached."""


class Fetcher:
    def __init__(self, guard: Guard, limits: FetchLimits, user_agent: str) -> None:
        self._limits = limits
        self._client = OutboundClient(
            guard,
            timeout_s=limits.timeout_s,
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def get(self, url: str, *, deadline: float | None = None) -> Fetched:
        """GET ``url``, following up to five redirects, each one checked before it is connected to. A refused
        address is named (the person adding a source can allow it); any other failure to connect is not.

        With a ``deadline`` (``time.monotonic()``), the whole request (name lookups, connecting, every redirect and
        the body, however slowly it trickles in) must finish by then, or ``TimeUp`` is raised."""
        if deadline is None:
            return await self._get(url)
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            async with asyncio.timeout(remaining):
                return await self._get(url)
        except TimeoutError:
            raise TimeUp(f"{url}: the time limit was reached while fetching it") from None

    async def _get(self, url: str) -> Fetched:
        try:
            async with self._client.stream("GET", url) as opened:
                response = opened.response
                body = b"" if response.is_redirect else await self._read(opened.url, response)
        except Unreachable as exc:
            if exc.refused:
                raise RefusedTarget(exc.detail) from None
            raise FetchFailed(f"{url}: {UNREACHABLE}") from None
        content_type, _, params = response.headers.get("content-type", "").partition(";")
        return Fetched(opened.url, response.status_code, content_type.strip().lower(), _charset(params), body)

    async def _read(self, url: str, response: httpx.Response) -> bytes:
        limits = self._limits
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise SourceError(f"{url}: {int(declared) >> 20} MB is over the limit of {limits.max_bytes >> 20} MB")
        decoder = _Inflater(url, response.headers.get("content-encoding", "identity"))
        received = 0
        out = bytearray()
        try:
            async for raw in response.aiter_raw():
                received += len(raw)
                if received > limits.max_bytes:
                    raise SourceError(f"{url}: the response is over the limit of {limits.max_bytes >> 20} MB")
                out += decoder(raw, limits.max_decompressed - len(out) + 1)
                if len(out) > limits.max_decompressed:
                    raise SourceError(
                        f"{url}: the response decompresses to over {limits.max_decompressed >> 20} MB; not read"
                    )
        except httpx.HTTPError as exc:
            log.warning("fetching %s broke off after %d bytes: %s: %s", url, received, type(exc).__name__, exc)
            raise FetchFailed(f"{url}: the transfer broke off after {received} bytes") from None
        return bytes(out)


def _charset(params: str) -> str | None:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'").lower()
    return None


class _Inflater:
    """Undoes gzip or deflate piece by piece, never producing more than asked for (a zip bomb stays small)."""

    def __init__(self, url: str, encoding: str) -> None:
        encoding = encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise SourceError(f"{url}: unsupported content encoding '{encoding}'")
        self._url = url
        self._encoding = encoding
        # gzip (47: gzip or zlib header), or zlib-wrapped deflate; raw deflate is tried if that fails.
        self._z = None if encoding in ("", "identity") else zlib.decompressobj(15 if encoding == "deflate" else 47)

    def __call__(self, data: bytes, limit: int) -> bytes:
        if self._z is None:
            return data
        try:
            return self._z.decompress(data, max(limit, 1))
        except zlib.error:
            if self._encoding != "deflate":
                raise SourceError(f"{self._url}: the compressed data is corrupt") from None
            self._z = zlib.decompressobj(-15)
            self._encoding = "raw deflate"
            return self(data, limit)
