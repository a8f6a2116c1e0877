"""Ports on 127.0.0.1 as a scan would find them: closed, open to something that is not HTTP, open and silent; and a
web server that redirects, for the outbound guard's tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def closed_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def open_port(banner: bytes | None) -> Iterator[int]:
    """A listening port that is not HTTP: it sends ``banner`` (as an SSH or SMTP server would) and hangs up, or,
    with no banner, accepts and says nothing until the test ends."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if banner is None:
                held.append(conn)
                continue
            with suppress(OSError):
                conn.sendall(banner)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@dataclass
class Site:
    """What a ``web_server`` answers: path -> (status, headers, body); everything it was asked, in order."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def web_server() -> Iterator[tuple[Site, str]]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length", 0) or 0)
            body = self.rfile.read(length) if length else b""
            site.hits.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
            status, headers, payload = site.routes.get(self.path.split("?")[0], (404, {}, b""))
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PROPFIND = do_REPORT = _answer

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
