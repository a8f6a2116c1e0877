"""A loopback HTTP server that records requests and answers as the test says: an SMS gateway (a carrier cannot
be reached from here) or a business's own tool endpoint."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    answer: Callable[[dict[str, Any]], Any] = lambda body: {"ok": True}


@contextmanager
def recording_server() -> Iterator[tuple[Recorded, str]]:
    recorded = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            body = json.loads(raw or b"{}")
            recorded.requests.append({"path": self.path, "headers": dict(self.headers), "body": body, "raw": raw})
            time.sleep(recorded.delay_s)
            payload = json.dumps(recorded.answer(body)).encode()
            try:
                self.send_response(recorded.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except BrokenPipeError:
                pass

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorded, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
