"""The Litestar application: routes from ``web``, the shared runtime in its state, start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from appliance.runtime import Runtime
from models.errors import ModelError
from sip.startup import sip_service
from web.api import errors
from web.api.calls import CallController
from web.api.deps import provide_runtime
from web.api.health import healthz
from web.api.sip import SipController
from web.api.tenants import TenantController

log = logging.getLogger("appliance.app")


def create_app(runtime: Runtime, cli_token: str, *, load_models: bool = True) -> Litestar:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        task = asyncio.create_task(_warm_up(runtime)) if load_models else None
        telephony = sip_service(runtime)
        if telephony is not None:
            await telephony.start()
            runtime.telephony = telephony
        try:
            yield
        finally:
            if telephony is not None:
                await telephony.stop()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return Litestar(
        route_handlers=[healthz, TenantController, CallController, SipController],
        dependencies={"runtime": Provide(provide_runtime, sync_to_thread=False)},
        state=State({"runtime": runtime, "cli_token": cli_token}),
        lifespan=[lifespan],
        exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]
        # Logging is set up by appliance.logs; Litestar's default would replace its handlers (and the log file).
        logging_config=None,
        openapi_config=OpenAPIConfig(
            title="Appliance API",
            version="1",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
    )


async def _warm_up(runtime: Runtime) -> None:
    """Load every model, then evaluate each tenant's prompt, so the first call is as quick as the rest.
    Serving starts at once; /healthz says 'starting' until this is done."""
    try:
        await runtime.models.load()
        for summary in runtime.tenants.summaries():
            await runtime.warm_tenant(summary.id)
    except ModelError as exc:
        log.error("a model failed to load; calls cannot be answered until it is fixed: %s", exc)
        return
    log.info("ready: all models loaded, %d tenant prompts warmed", len(runtime.tenants.summaries()))
