"""The Litestar application: routes from ``web``, the shared runtime in its state, start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from appliance.runtime import Runtime
from models.errors import ModelError
from sip.startup import sip_service
from web import routes
from web.api import errors
from web.api.deps import provide_runtime
from web.auth.access import access_guard
from web.auth.hosts import HostCheckMiddleware
from web.auth.identity import IdentityMiddleware
from web.context import WebContext
from web.maintenance import maintenance
from web.pages.templates import template_config
from web.scope import provide_principal, provide_view, provide_web

log = logging.getLogger("appliance.app")


def create_app(runtime: Runtime, cli_token: str, *, load_models: bool = True) -> Litestar:
    web = WebContext.create(runtime, cli_token)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(maintenance(web))]
        if load_models:
            tasks.append(asyncio.create_task(_warm_up(runtime)))
            if runtime.settings.calls.analysis:
                tasks.append(asyncio.create_task(runtime.aftercall.run()))
            # New knowledge changes a tenant's prompt: evaluate it again before the next call needs it.
            runtime.kb.on_change.append(runtime.warm_tenant)
        settings = runtime.settings
        telephony = sip_service(
            runtime, settings.sip, rate=settings.calls.telephony_rate, recordings=settings.recordings_path
        )
        if telephony is not None:
            await telephony.start()
            runtime.telephony = telephony
        try:
            yield
        finally:
            if telephony is not None:  # first: callers hear goodbye while everything still works
                await telephony.stop()
            await runtime.kb.close()
            await web.browser_calls.close()
            await web.webhooks.drain()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    return Litestar(
        route_handlers=routes.handlers(),
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "web": Provide(provide_web, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
            "view": Provide(provide_view, sync_to_thread=True),
        },
        state=State({"runtime": runtime, "web": web}),
        guards=[access_guard],
        middleware=[HostCheckMiddleware(web.hosts), IdentityMiddleware()],
        template_config=template_config(),
        lifespan=[lifespan],
        # Logging is ours (appliance/logs.py): Litestar would otherwise install its own format over it.
        logging_config=None,
        exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Appliance API",
            version="1",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            openapi_router=Router(path="/schema", route_handlers=[], opt={"permission": "public"}),
            description=(
                "The REST API behind the staff pages. Authenticate with the session cookie (browsers; unsafe "
                "methods also need the X-CSRF-Token header) or with `Authorization: Bearer <token>` using a "
                "business's API token (Settings, API tokens)."
            ),
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
