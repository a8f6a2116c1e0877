"""The caldav library's HTTP, sent through the one guarded client (``core.outbound``).

``caldav.DAVClient`` works in a worker thread and sends each request with ``session.request(...)``, as on a
niquests session. ``GuardedSession`` stands in for that session: it prepares the request as niquests would (so
the library's basic, bearer and digest authentication apply as they are), then hands it to the ``OutboundClient``
that ``linked`` put in the context, on the event loop that started the work. So the library never resolves a name,
opens a socket, reads a proxy from the environment or follows a redirect of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
import niquests
from niquests.hooks import dispatch_hook
from niquests.structures import CaseInsensitiveDict
from niquests.utils import get_encoding_from_headers

from core.outbound.client import OutboundClient

MAX_ANSWER_BYTES = 16 << 20  # a calendar's search answer can be large


@dataclass(frozen=True, slots=True)
class _Link:
    client: OutboundClient
    loop: asyncio.AbstractEventLoop


# Set around each piece of work the library does; asyncio.to_thread carries it into the worker thread.
_LINK: ContextVar[_Link] = ContextVar("caldav_link")


@contextmanager
def linked(client: OutboundClient) -> Iterator[None]:
    """Requests the library makes inside this block (and in threads started from it) go through ``client``."""
    token = _LINK.set(_Link(client, asyncio.get_running_loop()))
    try:
        yield
    finally:
        _LINK.reset(token)


class GuardedSession:
    """What ``caldav.DAVClient`` uses of its session: ``request`` and ``close``."""

    def request(
        self,
        method: str,
        url: str,
        data: bytes | str | None = None,
        headers: Any = None,
        auth: Any = None,
        **_: Any,  # proxies, timeout, verify, cert: the guarded client has its own, and no proxy
    ) -> niquests.Response:
        prepared = niquests.Request(method=method, url=url, data=data, headers=headers, auth=auth).prepare()
        response = self.send(prepared)
        # Digest authentication answers a 401 here, sending the request again through ``send``.
        answered: niquests.Response = dispatch_hook("response", prepared.hooks, response)  # type: ignore[arg-type]
        return answered

    def send(self, request: niquests.PreparedRequest, **_: Any) -> niquests.Response:
        link = _LINK.get()
        body = request.body.encode() if isinstance(request.body, str) else request.body
        if body is not None and not isinstance(body, bytes):
            raise ValueError("a CalDAV request body must be bytes")
        assert request.method is not None and request.url is not None
        headers = {_text(k): _text(v) for k, v in (request.headers or {}).items()}
        answer = asyncio.run_coroutine_threadsafe(
            link.client.request(request.method, request.url, content=body, headers=headers, max_bytes=MAX_ANSWER_BYTES),
            link.loop,
        ).result()
        response = niquests.Response()
        response.status_code = answer.status
        response.reason = httpx.codes.get_reason_phrase(answer.status)
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.body
        response._content_consumed = True
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = answer.url
        response.request = request
        response.raw = _Received()
        response.connection = self  # type: ignore[attr-defined]  # where digest auth sends its second try
        return response

    def close(self) -> None:
        pass


class _Received:
    """Where niquests looks for the wire response (for its cookies): the answer has been read whole, and
    cookies are not kept."""

    _original_response = None

    def close(self) -> None:
        pass


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
