"""The ``[sip]`` section of the settings file: where the appliance listens, its trunks, and the box's call limit."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

import msgspec

CODECS = ("PCMU", "PCMA", "G722")
# The pjsua2-python wheel is built with 4 call slots (PJSUA_MAX_CALLS): a fifth INVITE is refused with 486 by
# PJSIP itself, whatever is configured. A PJSIP built from source with a larger PJSUA_MAX_CALLS lifts this.
CALL_SLOTS = 4
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_HOST = re.compile(r"^(sips?:)?(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:(?P<port>\d{1,5}))?$")


class TrunkSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One SIP trunk: the carrier's registrar and this box's account there."""

    name: str
    registrar: str  # "sip.carrier.example", "sip.carrier.example:5080" or "sip:sip.carrier.example"
    username: str
    password: str = ""
    auth_username: str = ""  # when the carrier authenticates with a different name than the account's
    # The only realm whose challenges the credentials answer. Empty: the realm of the registrar's first challenge
    # (a trunk that does not register: the registrar's host). Never "*": a caller's 407 would get a digest.
    realm: str = ""
    domain: str = ""  # the account's domain (default: the registrar's host)
    transport: Literal["udp", "tcp"] = "udp"
    register: bool = True  # false: the carrier sends calls to this box's address without a registration
    expires_s: int = 300
    outbound_proxy: str = ""
    # Networks (CIDR) the carrier may also send calls from, beside its registrar's and outbound proxy's addresses.
    allow: list[str] = msgspec.field(default_factory=list)

    @property
    def registrar_uri(self) -> str:
        return _uri(self.registrar, self.transport)

    @property
    def sip_domain(self) -> str:
        """Where the account lives, and where a transfer to a plain number is sent."""
        return self.domain or _hostport(self.registrar)

    @property
    def account_uri(self) -> str:
        return f"sip:{self.username}@{self.sip_domain}"

    @property
    def known_realm(self) -> str:
        """The realm to answer from the start; empty when the registrar's first challenge tells it."""
        if self.realm or self.register:
            return self.realm
        return host_of(self.registrar)


class SipSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True  # SIP starts with `appliance serve` when this is on and a trunk is configured
    bind: str = "0.0.0.0"
    port: int = 5060  # UDP and TCP
    public_address: str = ""  # the address to put in Contact and SDP when the box is behind NAT
    rtp_port: int = 10000  # first port of the RTP range
    rtp_port_count: int = 1000
    # Simultaneous calls the box answers; over it, each tenant's [telephony] when_busy applies. A busy message
    # needs a free call slot of its own, so it is only heard when this is below CALL_SLOTS.
    max_calls: int = 4
    codecs: list[str] = msgspec.field(default_factory=lambda: ["PCMU", "PCMA", "G722"])  # in order of preference
    retry_min_s: float = 2.0  # re-registration backoff after a failure: doubles from here...
    retry_max_s: float = 300.0  # ...up to here
    trunks: list[TrunkSettings] = msgspec.field(default_factory=list)
    # Networks (CIDR) that may send calls without being a trunk's (a PBX on the LAN); every other source that is
    # not a trunk's registrar, outbound proxy or `allow` gets 403.
    trusted_sources: list[str] = msgspec.field(default_factory=list)
    # Flood limits (0 turns one off). INVITEs a second from one address, in bursts of twice as many; over it, 503.
    invites_per_second: float = 10.0
    calls_per_caller_per_hour: int = 12  # from one caller number (withheld numbers are not limited); over it, 603
    ack_timeout_s: float = 8.0  # an answered call whose ACK has not come by then is hung up: it holds a line
    media_timeout_s: float = 30.0  # a call with no RTP from the caller for this long (not on hold) is hung up


def sip_problems(sip: SipSettings) -> list[str]:
    """Everything wrong with the section, each naming its key."""
    problems = []
    if not 0 <= sip.port <= 65535:
        problems.append("sip.port must be between 0 and 65535")
    if not 1024 <= sip.rtp_port <= 65000 or sip.rtp_port_count < 2:
        problems.append("sip.rtp_port must be 1024 to 65000 and sip.rtp_port_count at least 2")
    if not 1 <= sip.max_calls <= CALL_SLOTS:
        problems.append(
            f"sip.max_calls must be 1 to {CALL_SLOTS}: the installed PJSIP (pjsua2-python) has {CALL_SLOTS} call slots"
        )
    unknown = [c for c in sip.codecs if c not in CODECS]
    if unknown or not sip.codecs:
        problems.append(f"sip.codecs: {', '.join(unknown) or 'empty'}; choose from {', '.join(CODECS)}")
    if not 0.1 <= sip.retry_min_s <= sip.retry_max_s:
        problems.append("sip.retry_min_s must be at least 0.1 and no more than sip.retry_max_s")
    problems += _cidr_problems("sip.trusted_sources", sip.trusted_sources)
    if sip.invites_per_second < 0 or sip.calls_per_caller_per_hour < 0:
        problems.append("sip.invites_per_second and sip.calls_per_caller_per_hour must be 0 (off) or more")
    if not 1 <= sip.ack_timeout_s <= 32 or not (sip.media_timeout_s == 0 or 5 <= sip.media_timeout_s <= 3600):
        problems.append("sip.ack_timeout_s must be 1 to 32, sip.media_timeout_s 0 (off) or 5 to 3600")
    names = [t.name for t in sip.trunks]
    if len(set(names)) != len(names):
        problems.append("sip.trunks: two trunks have the same name")
    for i, trunk in enumerate(sip.trunks):
        where = f"sip.trunks[{i}]"
        if not _NAME.match(trunk.name):
            problems.append(f"{where}.name must be 1-40 characters of a-z, 0-9, '-' and '_'")
        if not _HOST.match(trunk.registrar.strip()):
            problems.append(f"{where}.registrar '{trunk.registrar}' is not a host, host:port or sip: URI")
        if not trunk.username.strip() or any(c in trunk.username for c in "@:; <>"):
            problems.append(f"{where}.username must be a plain SIP user name")
        if trunk.outbound_proxy and not _HOST.match(trunk.outbound_proxy.strip()):
            problems.append(f"{where}.outbound_proxy '{trunk.outbound_proxy}' is not a host, host:port or URI")
        if trunk.realm == "*":
            problems.append(
                f"{where}.realm '{trunk.realm}' would answer anyone's challenge with the trunk's password (a caller"
                " can challenge the box's BYE): name the carrier's realm, or leave it out to learn it at registration"
            )
        if not 10 <= trunk.expires_s <= 86400:
            problems.append(f"{where}.expires_s must be 10 to 86400")
        problems += _cidr_problems(f"{where}.allow", trunk.allow)
    return problems


def host_of(text: str) -> str:
    """The host of a host, host:port or sip: URI (an IPv6 address without its brackets)."""
    match = _HOST.match(text.strip())
    return match.group("host").strip("[]") if match else text


def network(cidr: str) -> Network:
    """``cidr`` as a network ("203.0.113.0/24"; a bare address is one host). Raises ValueError."""
    return ipaddress.ip_network(cidr.strip(), strict=False)


def _cidr_problems(key: str, cidrs: list[str]) -> list[str]:
    problems = []
    for cidr in cidrs:
        try:
            network(cidr)
        except ValueError:
            problems.append(f"{key}: '{cidr}' is not an address or network (e.g. 203.0.113.0/24)")
    return problems


def _hostport(text: str) -> str:
    match = _HOST.match(text.strip())
    if not match:
        return text
    port = match.group("port")
    return match.group("host") + (f":{port}" if port else "")


def _uri(text: str, transport: str) -> str:
    uri = f"sip:{_hostport(text)}"
    return uri if transport == "udp" else f"{uri};transport={transport}"
