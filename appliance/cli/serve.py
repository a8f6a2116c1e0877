"""``appliance serve``: the appliance itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from appliance.cli.context import CliContext
from appliance.server_file import remove_server_file, write_server_file

# The server (uvicorn, Litestar, the runtime with its models) is imported when it starts, not with the CLI.
if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("appliance.serve")


@click.command()
@click.pass_obj
def serve(obj: CliContext) -> None:
    """Serve the web UI and API, and answer calls, until stopped (Ctrl-C or SIGTERM)."""
    import uvicorn

    from appliance.app import create_app
    from appliance.runtime import Runtime

    settings = obj.settings
    runtime = Runtime.open(settings)
    runtime.models.resolve_all()
    note = write_server_file(settings)
    app = create_app(runtime, note.token)
    # proxy_headers=False: uvicorn would otherwise take X-Forwarded-For and -Proto from any local process as the
    # truth; the app honours them only from the proxies in web.trusted_proxies (web/auth/client.py).
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
    log.info("serving on http://%s:%d (data in %s)", settings.server.host, settings.server.port, settings.data_dir)
    try:
        asyncio.run(_server(config).serve())
    finally:
        remove_server_file(settings, note)
        runtime.close()
        log.info("stopped")


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn re-raises SIGTERM after a graceful shutdown, so the process looks killed; a service manager
    should see a clean exit instead."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)
