"""Housekeeping while the server runs: expired sessions and data past its retention, once an hour."""

from __future__ import annotations

import asyncio
import logging

from web.context import WebContext
from web.retention import purge

log = logging.getLogger("appliance.web.maintenance")
INTERVAL_S = 3600.0


async def maintenance(web: WebContext) -> None:
    while True:
        try:
            await asyncio.to_thread(web.sessions.purge_expired)
            await asyncio.to_thread(purge, web.runtime.store, web.runtime.settings.recordings_path)
        except Exception:
            # Housekeeping must never stop the server; the next round tries again.
            log.exception("housekeeping failed; it will be retried in an hour")
        await asyncio.sleep(INTERVAL_S)
