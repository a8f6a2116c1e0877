"""Which addresses an outbound request may reach: public ones, plus the hosts an allow-list names.

A URL's host is resolved once; every address it resolves to must be allowed, and the connection then goes to
one of those checked addresses (never to a fresh lookup), so a DNS answer that changes between the check and the
connection cannot redirect it to a private address. Cloud metadata and link-local addresses are never reachable,
whatever the allow-list says.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import SplitResult, urlsplit

from core.errors import ApplianceError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance metadata services: never reachable, whatever the allow-list says.
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64): checked as that IPv4 address too.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


class Refused(ApplianceError):
    """A request refused before connecting: the address is not one this box may reach. The message says why,
    for the operator's log; what a caller is told is up to the client (see ``core.outbound.client``)."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IpAddress]: ...


class SystemResolver:
    """The operating system's resolver (``/etc/hosts``, DNS), without blocking the event loop."""

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise Refused(f"cannot resolve host '{host}': {exc.strerror}") from None
        found: list[IpAddress] = []
        for *_, sockaddr in infos:
            address = ipaddress.ip_address(sockaddr[0])
            if address not in found:
                found.append(address)
        return found


@dataclass(frozen=True, slots=True)
class Target:
    """Where a checked URL may be fetched from: its parts and the address to connect to."""

    url: SplitResult
    host: str
    port: int
    address: IpAddress


def _embedded(address: IpAddress) -> IpAddress:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), or the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if any(address in prefix for prefix in _NAT64):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


class AddressPolicy:
    """Public addresses, and the entries of ``allow`` (exact host names, or addresses and CIDR ranges), which
    ``setting`` names for the person who would add one."""

    def __init__(self, allow: list[str], setting: str = "allow_hosts") -> None:
        self._setting = setting
        self._hosts: set[str] = set()
        self._networks: list[IpNetwork] = []
        for entry in allow:
            entry = entry.strip().lower()
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if not entry or "/" in entry or " " in entry or ":" in entry:
                    raise ValueError(f"{setting}: '{entry}' is neither a host name nor an address range") from None
                self._hosts.add(entry.rstrip("."))

    def refusal(self, host: str, address: IpAddress) -> str | None:
        """What kind of address ``address`` (which ``host`` resolved to) is when it may not be reached, or None
        when it may."""
        address = _embedded(address)
        if address in METADATA:
            return "a cloud metadata address"
        if address.is_link_local:
            return "a link-local address"
        if host.lower().rstrip(".") in self._hosts or any(address in net for net in self._networks):
            return None
        for flag, kind in (
            (address.is_loopback, "a loopback"),
            (address.is_multicast, "a multicast"),
            (address.is_unspecified or address.is_reserved, "a reserved"),
            (address.is_private, "a private"),
            (not address.is_global, "a non-public"),
        ):
            if flag:
                return f"{kind} address (add it to {self._setting} to allow it)"
        return None


class Guard:
    def __init__(self, policy: AddressPolicy, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or SystemResolver()

    async def check(self, url: str) -> Target:
        """Resolve and check ``url``'s host; refuse (``Refused``) anything not allowed."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            raise Refused(f"refused {url}: not a valid address") from None
        if parts.scheme not in ("http", "https"):
            raise Refused(f"refused {url}: only http and https addresses can be fetched")
        if parts.username or parts.password:
            raise Refused(f"refused {url}: addresses with a user name or password are not fetched")
        if not host:
            raise Refused(f"refused {url}: no host name")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise Refused(f"refused {url}: the port is not a number from 1 to 65535") from None
        try:
            addresses: list[IpAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = await self._resolver.resolve(host, port)
        if not addresses:
            raise Refused(f"refused {url}: '{host}' resolves to no address")
        for address in addresses:
            reason = self._policy.refusal(host, address)
            if reason is not None:
                subject = str(address) if str(address) == host else f"'{host}' resolves to {address}, which"
                raise Refused(f"refused {url}: {subject} is {reason}")
        return Target(parts, host, port, addresses[0])
