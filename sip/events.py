"""What the SIP stack reports, as plain data handed from pjsua2's thread to the event loop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Registration:
    trunk: str
    code: int
    reason: str
    expires: int  # seconds granted; 0 after an unregistration or a failure


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


SipEvent = Registration | Offered | MediaReady | Digit | TransferProgress | Ended
