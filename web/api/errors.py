"""Errors a client can act on, never a traceback: JSON for the API, a page (or the login form) for people."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from core.errors import ApplianceError, InputError, NotFoundError
from models.errors import ModelError

log = logging.getLogger("appliance.api")


def _is_page(request: Request[Any, Any, Any]) -> bool:
    return not request.url.path.startswith(("/api/", "/schema", "/healthz"))


def _reply(request: Request[Any, Any, Any], status: int, detail: str) -> Response[Any]:
    if _is_page(request):
        if status == 401:
            return Redirect(f"/login?next={quote(request.url.path)}")
        if request.headers.get("hx-request"):
            # htmx swaps the reply into the page: a short message, not a whole page.
            return Response(f'<p class="error">{_escape(detail)}</p>', status_code=status, media_type="text/html")
        return Template("error.html", context={"status": status, "detail": detail}, status_code=status)
    return Response({"status_code": status, "detail": detail}, status_code=status)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def appliance_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, NotFoundError):
        return _reply(request, 404, str(exc))
    if isinstance(exc, InputError):
        return _reply(request, 400, str(exc))
    if isinstance(exc, ModelError):
        return _reply(request, 503, str(exc))
    return _reply(request, 409, str(exc))


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, HTTPException):
        detail = str(exc.detail)
        extra = getattr(exc, "extra", None)
        if exc.status_code == 400 and extra:
            detail = f"{detail}: {extra}"
        return _reply(request, exc.status_code, detail)
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return _reply(request, 500, "internal error; the appliance log has the details")


HANDLERS = {ApplianceError: appliance_error, ModelError: appliance_error, Exception: unexpected_error}
