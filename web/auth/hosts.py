"""The names this box answers to: a request whose ``Host`` is another name is refused before anything runs.

DNS rebinding: a page on ``evil.example`` has its name re-pointed at the box's address, and the browser, which
thinks it is still talking to ``evil.example``, lets that page read the box's replies (the setup wizard of an
unconfigured box, for one). The browser still sends ``Host: evil.example``, so refusing names the box does not
use ends it. An address written out (``192.168.1.20``, ``[::1]``) is always accepted: rebinding needs a name.
Names accepted: ``localhost``, this machine's host name (and ``<name>.local``), and ``web.host_names``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware

if TYPE_CHECKING:
    from litestar.types import (
        ASGIApp,
        HTTPResponseBodyEvent,
        HTTPResponseStartEvent,
        Receive,
        Scope,
        Send,
        WebSocketCloseEvent,
    )

log = logging.getLogger("appliance.web.hosts")

_LOGGED_LIMIT = 256  # distinct refused names logged, so a flood of made-up names cannot fill the log


def host_name_of(header: str) -> str:
    """The name or address in a ``Host`` header, without its port, in lower case, without a final dot."""
    value = header.strip().lower()
    if value.startswith("["):  # [v6]:port
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def own_names() -> set[str]:
    """``localhost`` and the names this machine calls itself."""
    names = {"localhost"}
    full = socket.gethostname().lower().rstrip(".")
    if full:
        short = full.partition(".")[0]
        names |= {full, short, f"{short}.local"}
    return names


class AllowedHosts:
    def __init__(self, configured: Iterable[str], own: Iterable[str] | None = None) -> None:
        self.names = frozenset(host_name_of(n) for n in configured) | frozenset(own_names() if own is None else own)
        self._logged: set[str] = set()

    def allows(self, header: str | None) -> bool:
        # No Host header at all (HTTP/1.0 from a script) cannot come from a browser, and rebinding needs one.
        if header is None:
            return True
        name = host_name_of(header)
        return _is_address(name) or name in self.names

    def refused(self, header: str, path: str) -> str:
        """Logs the refusal (once per name) and returns the message for the client."""
        name = host_name_of(header)
        if name not in self._logged and len(self._logged) < _LOGGED_LIMIT:
            self._logged.add(name)
            log.warning(
                "refused a request for host name '%s' (%s): not a name of this box; if staff reach the box by "
                "that name, add it to web.host_names (further requests for it are not logged)",
                name, path,
            )  # fmt: skip
        return (
            f"this box does not answer to the name '{name}'; use its address, or ask the installer to add the "
            "name to web.host_names\n"
        )


class HostCheckMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP, ScopeType.WEBSOCKET)

    def __init__(self, hosts: AllowedHosts) -> None:
        self._hosts = hosts

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        header = _host_header(scope)
        if self._hosts.allows(header):
            await next_app(scope, receive, send)
            return
        message = self._hosts.refused(header or "", scope["path"])
        if scope["type"] == ScopeType.WEBSOCKET:
            # Closing before the handshake is accepted: the server answers the upgrade with 403.
            close: WebSocketCloseEvent = {"type": "websocket.close", "code": 1008, "reason": message.strip()[:120]}
            await send(close)
            return
        body = message.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": 421, "headers": headers}
        await send(start)
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
        await send(end)


def _host_header(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"host":
            return value.decode("latin-1")
    return None
