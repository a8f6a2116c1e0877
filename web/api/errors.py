"""Errors as JSON a client can act on: never a traceback."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException

from appliance.errors import ApplianceError, InputError, NotFoundError
from models.errors import ModelError

log = logging.getLogger("appliance.api")


def _json(status: int, detail: str) -> Response[dict[str, object]]:
    return Response({"status_code": status, "detail": detail}, status_code=status)


def appliance_error(_: Request, exc: Exception) -> Response[dict[str, object]]:  # type: ignore[type-arg]
    if isinstance(exc, NotFoundError):
        return _json(404, str(exc))
    if isinstance(exc, InputError):
        return _json(400, str(exc))
    if isinstance(exc, ModelError):
        return _json(503, str(exc))
    return _json(409, str(exc))


def unexpected_error(request: Request, exc: Exception) -> Response[dict[str, object]]:  # type: ignore[type-arg]
    if isinstance(exc, HTTPException):
        return _json(exc.status_code, str(exc.detail))
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return _json(500, "internal error; the appliance log has the details")


HANDLERS = {ApplianceError: appliance_error, ModelError: appliance_error, Exception: unexpected_error}
