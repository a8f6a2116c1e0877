"""The ``[web]`` settings section: sessions, login throttling, and browser test calls."""

from __future__ import annotations

from typing import Literal

import msgspec


class WebSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # "auto": cookies are Secure when the request came over HTTPS (directly or from a proxy on this box).
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    session_hours: int = 12
    login_attempts: int = 5  # failed logins allowed per account and address within the window
    login_window_s: int = 300
    # Addresses WebRTC test calls offer the browser; empty: every address of the box but loopback.
    ice_addresses: list[str] = msgspec.field(default_factory=list)
