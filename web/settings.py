"""The ``[web]`` settings section: sessions, login throttling, trusted proxies, the box's host names, and
browser test calls."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

import msgspec

_HOST_NAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$", re.IGNORECASE)


class WebSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # "auto": cookies are Secure when the request came over HTTPS (directly or from a proxy on this box).
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    session_hours: int = 12
    login_attempts: int = 5  # failed logins allowed per account and address within the window
    login_window_s: int = 300
    # Reverse proxies (addresses or networks, e.g. "127.0.0.1" or "10.0.0.0/24") whose X-Forwarded-For names the
    # real client. Empty: the header is ignored and the connecting address is the client's.
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    # Addresses WebRTC test calls offer the browser; empty: every address of the box but loopback.
    ice_addresses: list[str] = msgspec.field(default_factory=list)
    # Names staff reach the box by (e.g. "reception.local"), besides its addresses, "localhost" and its own host
    # name: a request for any other name is refused (DNS rebinding).
    host_names: list[str] = msgspec.field(default_factory=list)
    # Browser test calls and API simulations in progress at once on the whole box (they count towards
    # sip.max_calls too: a cap of their own keeps them from taking every line).
    max_test_calls: int = 2

    def __post_init__(self) -> None:
        for entry in self.trusted_proxies:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"trusted_proxies: '{entry}' is not an address or network") from None
        for name in self.host_names:
            if not _HOST_NAME.match(name):
                raise ValueError(
                    f"host_names: '{name}' is not a host name (no port, scheme or path: 'reception.local')"
                )
        if self.max_test_calls < 1:
            raise ValueError("max_test_calls must be at least 1")
