"""What the SIP stack reports, as plain data handed from pjsua2's thread to the event loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sip.media import MediaQueues


@dataclass(frozen=True, slots=True)
class Registration:
    trunk: str
    code: int
    reason: str
    expires: int  # seconds granted; 0 after an unregistration or a failure


@dataclass(frozen=True, slots=True)
class Decision:
    """What was done with a new call, on the SIP stack's thread, before the event loop heard of it."""

    code: int  # 200: answered; 404, 486, 503...: refused; 0: left ringing for the event loop (a busy message)
    reason: str
    tenant_id: str | None = None
    did: str | None = None
    queues: MediaQueues | None = None  # the answered call's audio


@dataclass(frozen=True, slots=True)
class Offered:
    """A new INVITE. ``handle`` names the call in every later event and command."""

    handle: int
    trunk: str
    call_id: str
    request_uri: str
    from_uri: str
    to_uri: str
    source: str  # address:port the INVITE came from
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class MediaReady:
    handle: int
    codec: str
    clock_rate: int


@dataclass(frozen=True, slots=True)
class Digit:
    handle: int
    digit: str
    method: str  # "rfc4733" | "info"


@dataclass(frozen=True, slots=True)
class TransferProgress:
    """A NOTIFY about a REFER we sent (or the REFER's own failure): the transfer target's answer so far."""

    handle: int
    code: int
    reason: str
    final: bool


@dataclass(frozen=True, slots=True)
class Ended:
    handle: int
    code: int
    reason: str
    connected_s: float


@dataclass(frozen=True, slots=True)
class Refused:
    """A call PJSIP itself refused (every call slot in use, or an offer it could not accept)."""

    from_uri: str
    to_uri: str
    code: int
    reason: str
    source: str  # address:port the INVITE came from


@dataclass(frozen=True, slots=True)
class Refusal:
    """A caller's request the box refused for what it asked: to dial ``target`` ("refer": a REFER, which PJSIP
    would otherwise accept and dial with the trunk's account), or to take over the call ("replaces": an INVITE
    with Replaces, from ``target``)."""

    handle: int  # the call it was sent in, or would have replaced
    reason: Literal["refer", "replaces"]
    code: int
    call_id: str
    source: str  # address:port it came from (for a REFER, the call's INVITE's)
    caller: str
    target: str


@dataclass(frozen=True, slots=True)
class Forbidden:
    """An INVITE refused for where it came from, before a call was set up for it: 403 from an address that is
    neither a trunk's nor trusted, 503 from one sending more INVITEs a second than ``sip.invites_per_second``."""

    code: int  # 403 | 503
    source: str  # address:port it came from
    call_id: str
    request_uri: str
    from_uri: str
    to_uri: str


@dataclass(frozen=True, slots=True)
class Released:
    """An answered call the box hung up because it held a line for nothing, or because someone else took its
    audio: "no_ack" (the caller never confirmed the answer), "no_media" (no RTP from the caller, who is not
    holding), "rtp_source" (the call's RTP came from ``source``, neither its SDP's address nor a trunk's)."""

    handle: int
    reason: Literal["no_ack", "no_media", "rtp_source"]
    after_s: float  # how long it had been so
    source: str = ""


SipEvent = (
    Registration | Offered | MediaReady | Digit | TransferProgress | Ended | Refused | Refusal | Forbidden | Released
)
