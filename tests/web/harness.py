"""A real appliance web server for browser tests: uvicorn on loopback in a thread of the test process, so a test
can also look straight into the store it serves (audit rows, sessions) while Chromium drives the pages."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from appliance.app import create_app
from appliance.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    runtime: Runtime
    cli_token: str


@contextlib.contextmanager
def serve(runtime: Runtime, cli_token: str = "test-cli-token") -> Iterator[Served]:
    port = free_port()
    app = create_app(runtime, cli_token, load_models=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, proxy_headers=False)
    server = uvicorn.Server(config)  # without proxy headers, as `appliance serve` runs it
    thread = threading.Thread(target=server.run, name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test web server did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", runtime, cli_token)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


async def shot(page: Any, name: str) -> Path:
    """A full-page screenshot kept as a test artefact (test-artifacts/screenshots/NAME.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
