"""The session and CSRF cookies: HttpOnly, SameSite, and Secure (with the ``__Host-`` prefix) over HTTPS."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

from web.auth.client import TrustedProxies
from web.settings import WebSettings

SESSION = "appliance_session"
CSRF = "appliance_csrf"


def is_secure(connection: ASGIConnection, settings: WebSettings) -> bool:  # type: ignore[type-arg]
    if settings.secure_cookies != "auto":
        return settings.secure_cookies == "always"
    if connection.scope.get("scheme") in ("https", "wss"):
        return True
    # A TLS-terminating proxy on this box, or one in web.trusted_proxies (no one else is trusted to say so).
    client = connection.client.host if connection.client else ""
    trusted = client in ("127.0.0.1", "::1") or TrustedProxies(settings.trusted_proxies).trusts(client)
    return trusted and connection.headers.get("x-forwarded-proto") == "https"


def name(base: str, secure: bool) -> str:
    return f"__Host-{base}" if secure else base


def read(connection: ASGIConnection, base: str) -> str | None:  # type: ignore[type-arg]
    return connection.cookies.get(f"__Host-{base}") or connection.cookies.get(base)


def make(base: str, value: str, *, secure: bool, max_age: int | None, same_site: str = "lax") -> Cookie:
    return Cookie(
        key=name(base, secure),
        value=value,
        path="/",
        httponly=True,
        secure=secure,
        samesite=same_site,  # type: ignore[arg-type]
        max_age=max_age,
    )


def clear(base: str, secure: bool) -> Cookie:
    return make(base, "", secure=secure, max_age=0)
