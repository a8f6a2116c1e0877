"""GET /healthz: is each model loaded, is the store open, is SIP registered. 200 when ready to take calls (SIP
trouble makes it "degraded", still 200), else 503."""

from __future__ import annotations

import msgspec
from litestar import Response, get

from core.store.database import utcnow
from sip.startup import sip_status
from sip.status import SipStatus
from web.host import WebHost


class ModelHealth(msgspec.Struct):
    role: str
    model: str
    state: str
    device: str
    load_seconds: float | None
    error: str | None


class StoreHealth(msgspec.Struct):
    open: bool
    path: str
    error: str | None = None


class Health(msgspec.Struct):
    status: str
    device: str
    uptime_s: float
    models: list[ModelHealth]
    store: StoreHealth
    sip: SipStatus


@get("/healthz", sync_to_thread=False, tags=["health"], permission="public")
def healthz(runtime: WebHost) -> Response[Health]:
    models = [
        ModelHealth(s.role, s.choice, s.state, s.device, s.load_seconds, s.error) for s in runtime.models.status()
    ]
    try:
        runtime.store.scalar("SELECT 1")
        store = StoreHealth(open=True, path=str(runtime.store.path))
    except Exception as exc:  # any failure here means the store is not usable, which is what we report
        store = StoreHealth(open=False, path=str(runtime.store.path), error=str(exc))
    if any(m.state == "failed" for m in models) or not store.open:
        status = "failing"
    elif all(m.state == "loaded" for m in models):
        status = "ok"
    else:
        status = "starting"
    sip = sip_status(runtime.telephony, runtime.settings.sip)
    if status == "ok" and not sip.healthy:
        status = "degraded"  # still 200: the box works, but calls from a trunk may not reach it
    body = Health(
        status=status,
        device=runtime.models.device,
        uptime_s=round((utcnow() - runtime.started_at).total_seconds(), 1),
        models=models,
        store=store,
        sip=sip.public(),
    )
    return Response(body, status_code=200 if status in ("ok", "degraded") else 503)
