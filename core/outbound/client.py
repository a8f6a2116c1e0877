"""The one HTTP client for requests to other machines: a business's own tools, its CalDAV calendar, its webhooks,
the SMS gateway and the knowledge base's fetches all go through it.

Each hop (the first request and every redirect) is checked by the ``Guard`` before anything is connected to, and
connected to the address that was checked; no proxy from the environment is used, since a proxy would connect on
our behalf, past the checks. A redirect is followed only when the request can be repeated as it was (307 and 308,
and 301, 302 and 303 for a GET; 301 and 302 for other methods but POST), and credentials are dropped when it leads
to another origin.

Whatever goes wrong (an address refused, a closed port, an open one that speaks no HTTP, a timeout) raises
``Unreachable`` with one and the same message, so that a caller, a simulated call or the API learn nothing about
the network behind the box; what happened is logged for the operator.
"""

from __future__ import annotations

import json as jsonlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from core.errors import ApplianceError
from core.outbound.guard import AddressPolicy, Guard, Refused, Resolver, Target

log = logging.getLogger(__name__)

UNREACHABLE = "the service could not be reached"
MAX_REDIRECTS = 5
MAX_ANSWER_BYTES = 1 << 20  # an answer read whole (``request``) may be at most this big, unless asked otherwise
_REDIRECTS = (301, 302, 303, 307, 308)
_CREDENTIALS = ("authorization", "cookie", "proxy-authorization")


class Unreachable(ApplianceError):
    """An outbound request got no answer. The message is always ``UNREACHABLE``; ``detail`` (for the log) says
    what happened, and ``refused`` whether the address was refused before connecting."""

    def __init__(self, url: str, detail: str, *, refused: bool = False) -> None:
        super().__init__(UNREACHABLE)
        self.url = url
        self.detail = detail
        self.refused = refused


@dataclass(frozen=True, slots=True)
class Opened:
    """A response whose body has not been read yet, and the URL it came from (after redirects)."""

    url: str
    response: httpx.Response


@dataclass(frozen=True, slots=True)
class Answer:
    """A response read whole."""

    url: str  # after redirects
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not."""
        return jsonlib.loads(self.body)


class OutboundClient:
    """Requests through the guard. One per use (``async with``), or kept and closed by its owner."""

    def __init__(
        self,
        guard: Guard,
        *,
        timeout_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
        max_redirects: int = MAX_REDIRECTS,
    ) -> None:
        self._guard = guard
        self._max_redirects = max_redirects
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout_s), headers=dict(headers or {})
        )

    @classmethod
    def allowing(
        cls, allow_hosts: list[str], setting: str, *, resolver: Resolver | None = None, **options: Any
    ) -> OutboundClient:
        """A client that may reach public addresses and ``allow_hosts``, the value of ``setting``."""
        return cls(Guard(AddressPolicy(allow_hosts, setting), resolver), **options)

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> OutboundClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
    ) -> Answer:
        """Send a request and read the answer whole (at most ``max_bytes``, decoded)."""
        headers = {"Accept-Encoding": "identity", **(headers or {})}
        if json is not None:
            content = jsonlib.dumps(json, separators=(",", ":")).encode()
            headers.setdefault("Content-Type", "application/json")
        if params:
            url = str(httpx.URL(url).copy_merge_params(dict(params)))
        async with self.stream(method, url, content=content, headers=headers, timeout_s=timeout_s) as opened:
            body = bytearray()
            try:
                async for piece in opened.response.aiter_bytes():
                    body += piece
                    if len(body) > max_bytes:
                        raise self._failed(method, opened.url, f"the answer is over {max_bytes} bytes")
            except httpx.HTTPError as exc:
                raise self._failed(method, opened.url, f"the answer broke off: {_describe(exc)}") from None
            response = opened.response
            return Answer(opened.url, response.status_code, response.headers, bytes(body))

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> AsyncIterator[Opened]:
        """Send a request, following redirects that may be followed, each one checked; the response is open
        (its body unread) until the block ends."""
        method = method.upper()
        sent = dict(headers or {})
        for _ in range(self._max_redirects + 1):
            try:
                target = await self._guard.check(url)
            except Refused as exc:
                raise self._failed(method, url, str(exc), refused=True) from None
            response = await self._send(method, url, target, content, sent, timeout_s)
            location = response.headers.get("location") if _may_follow(method, response.status_code) else None
            if location is None:
                try:
                    yield Opened(url, response)
                finally:
                    await response.aclose()
                return
            await response.aclose()
            following = urljoin(url, location)
            if _origin(following) != _origin(url):
                sent = {k: v for k, v in sent.items() if k.lower() not in _CREDENTIALS}
            url = following
        raise self._failed(method, url, f"more than {self._max_redirects} redirects")

    async def _send(
        self,
        method: str,
        url: str,
        target: Target,
        content: bytes | None,
        headers: dict[str, str],
        timeout_s: float | None,
    ) -> httpx.Response:
        parts = target.url
        host = f"[{target.address}]" if target.address.version == 6 else str(target.address)
        pinned = parts._replace(netloc=f"{host}:{target.port}", fragment="").geturl()
        extensions = {"sni_hostname": target.host} if parts.scheme == "https" else {}
        request = self._client.build_request(
            method,
            pinned,
            content=content,
            headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
            extensions=extensions,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout_s is None else httpx.Timeout(timeout_s),
        )
        try:
            return await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._failed(method, url, _describe(exc)) from None

    @staticmethod
    def _failed(method: str, url: str, detail: str, *, refused: bool = False) -> Unreachable:
        log.warning("outbound %s %s: %s", method, _loggable(url), detail)
        return Unreachable(url, detail, refused=refused)


def _may_follow(method: str, status: int) -> bool:
    if status not in _REDIRECTS:
        return False
    if status in (307, 308):
        return True
    if status == 303:
        return method in ("GET", "HEAD")
    return method != "POST"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return parts.scheme, (parts.hostname or ""), port


def _loggable(url: str) -> str:
    """The URL without its user name, password and query (which may carry secrets)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return parts._replace(netloc=netloc, query="", fragment="").geturl()
    except ValueError:
        return "(an unreadable URL)"


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
