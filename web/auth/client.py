"""Who is on the other end of a connection: the peer's address, or, when the peer is a configured trusted proxy,
the client its ``X-Forwarded-For`` names. Anyone can send that header, so it counts only from a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from litestar.connection import ASGIConnection


class TrustedProxies:
    def __init__(self, entries: Sequence[str]) -> None:
        self._networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def client_address(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The client's address. Through trusted proxies, the right-most forwarded address that is not itself a
        trusted proxy (addresses to its left were written by the client and prove nothing)."""
        peer = connection.client.host if connection.client else "unknown"
        if not self._networks or not self.trusts(peer):
            return peer
        forwarded = [a.strip() for h in connection.headers.getall("x-forwarded-for", []) for a in h.split(",")]
        for address in reversed([a for a in forwarded if a]):
            if not self.trusts(address):
                try:
                    return str(ipaddress.ip_address(address))
                except ValueError:
                    return peer  # a proxy that forwards garbage: count the proxy, not the garbage
        return peer
