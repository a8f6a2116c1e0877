"""Who may send calls: the trunks' carriers (their registrars' and outbound proxies' addresses, and the ranges
set in each trunk's ``allow``) and the networks in ``sip.trusted_sources`` (a PBX on the LAN).

An INVITE from anywhere else is refused with 403 on the SIP stack's thread, before a call is set up for it:
a scanner or a caller dialling the box's address directly must not take a line. The registrars' names are
resolved off the SIP thread and the event loop (``resolve``), again every few minutes, since a carrier's
addresses change; the SIP thread only reads the result, which is replaced whole.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from sip.settings import Network, TrunkSettings, host_of, network


def source_ip(source: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of ``source`` as PJSIP writes it ("192.0.2.1:5060", "[2001:db8::1]:5060"); None if unreadable."""
    host = source.strip()
    if host.startswith("["):
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True, slots=True)
class Resolved:
    """A trunk's hosts' addresses; ``failed`` names the hosts that did not resolve this time."""

    networks: tuple[Network, ...]
    failed: tuple[str, ...]


def resolve(trunk: TrunkSettings) -> Resolved:
    """The addresses of the trunk's registrar and outbound proxy (blocking: DNS; run it in a worker thread)."""
    found: list[Network] = []
    failed: list[str] = []
    for text in (trunk.registrar, trunk.outbound_proxy):
        host = host_of(text) if text else ""
        if not host:
            continue
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_UDP)
        except OSError:
            failed.append(host)
            continue
        for info in infos:
            found.append(network(str(info[4][0]).split("%", 1)[0]))
    return Resolved(tuple(dict.fromkeys(found)), tuple(failed))


class Sources:
    """The networks calls may come from: fixed ones (``allow``, ``trusted_sources``) and the trunks' resolved
    addresses, which ``update`` replaces. Read on the SIP thread, written on the event loop."""

    def __init__(self, fixed: list[Network]) -> None:
        self._fixed = tuple(fixed)
        self._networks = self._fixed

    def update(self, resolved: dict[str, tuple[Network, ...]]) -> None:
        every = [n for networks in resolved.values() for n in networks]
        self._networks = tuple(dict.fromkeys([*self._fixed, *every]))  # one assignment: the SIP thread reads it

    @property
    def networks(self) -> tuple[Network, ...]:
        return self._networks

    def allows(self, source: str) -> bool:
        ip = source_ip(source)
        return ip is not None and any(ip in n for n in self._networks)
