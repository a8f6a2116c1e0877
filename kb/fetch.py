"""Fetching one URL over HTTP(S), safely: every hop checked by the SSRF guard and connected to the address that
was checked, redirects followed by hand, sizes bounded as received and as decompressed."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from kb.errors import SourceError
from kb.ssrf import Guard, Target

MAX_REDIRECTS = 5


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


class Fetcher:
    def __init__(self, guard: Guard, limits: FetchLimits, user_agent: str) -> None:
        self._guard = guard
        self._limits = limits
        # No proxies from the environment: a proxy would connect on our behalf, past the address checks.
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(limits.timeout_s),
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def get(self, url: str) -> Fetched:
        """GET ``url``, following up to five redirects, each one checked before it is connected to."""
        for _ in range(MAX_REDIRECTS + 1):
            target = await self._guard.check(url)
            fetched, location = await self._get(target, url)
            if location is None:
                return fetched
            url = urljoin(url, location)
        raise FetchFailed(f"{url}: more than {MAX_REDIRECTS} redirects")

    async def _get(self, target: Target, url: str) -> tuple[Fetched, str | None]:
        parts = target.url
        host = f"[{target.address}]" if target.address.version == 6 else str(target.address)
        pinned = parts._replace(netloc=f"{host}:{target.port}").geturl()
        extensions = {"sni_hostname": target.host} if parts.scheme == "https" else {}
        request = self._client.build_request(
            "GET", pinned, headers={"Host": parts.netloc.rpartition("@")[2]}, extensions=extensions
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise FetchFailed(f"{url}: {_describe(exc)}") from None
        try:
            if response.is_redirect:
                return _empty(url, response), response.headers["location"]
            body = await self._read(url, response)
        finally:
            await response.aclose()
        content_type, _, params = response.headers.get("content-type", "").partition(";")
        return Fetched(url, response.status_code, content_type.strip().lower(), _charset(params), body), None

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
            raise FetchFailed(f"{url}: the transfer broke off after {received} bytes ({_describe(exc)})") from None
        return bytes(out)


def _empty(url: str, response: httpx.Response) -> Fetched:
    return Fetched(url, response.status_code, "", None, b"")


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


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return str(exc) or type(exc).__name__
