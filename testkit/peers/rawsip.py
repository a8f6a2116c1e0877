"""SIP written by hand, for what sipp cannot send: floods of requests from a Python socket, and messages broken on
purpose. Each request is a plain string; the answers are read back by Call-ID."""

from __future__ import annotations

import re
import socket
import time


def sdp_offer(host: str, media_port: int) -> str:
    """An ordinary offer: PCMU from ``host``:``media_port``."""
    return (
        f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=audio {media_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )


def invite(
    call_id: str,
    did: str,
    local: tuple[str, int],
    box: str,
    media_port: int,
    *,
    sdp: str | None = None,
    extra: str = "",
    first: str = "",
    transport: str = "UDP",
    caller: str = "+15550001111",
) -> bytes:
    """An INVITE for ``did`` at ``box`` (host:port) from ``local`` (the socket's address), offering ``sdp`` (an
    ordinary offer unless told), with header lines (each ending in CRLF): ``first`` right after the Via, ``extra``
    just before the body's."""
    host, port = local
    body = sdp_offer(host, media_port) if sdp is None else sdp
    return (
        f"INVITE sip:{did}@{box} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {host}:{port};branch=z9hG4bK-{call_id}\r\n"
        f"{first}"
        f"From: <sip:{caller}@{host}:{port}>;tag={call_id}\r\n"
        f"To: <sip:{did}@{box}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: 1 INVITE\r\n"
        f"Contact: <sip:flood@{host}:{port};transport={transport.lower()}>\r\n"
        f"Max-Forwards: 70\r\n"
        f"{extra}"
        f"Content-Type: application/sdp\r\n"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()


def register(call_id: str, user: str, local: tuple[str, int], box: str, cseq: int = 1) -> bytes:
    """A REGISTER of ``user`` at ``box`` (host:port), as a phone would send to its registrar."""
    host, port = local
    return (
        f"REGISTER sip:{box} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-{call_id}-{cseq}\r\n"
        f"From: <sip:{user}@{box}>;tag={call_id}\r\n"
        f"To: <sip:{user}@{box}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:{user}@{host}:{port}>\r\n"
        f"Expires: 3600\r\n"
        f"Max-Forwards: 70\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def options(call_id: str, local: tuple[str, int], box: str, transport: str = "UDP") -> bytes:
    """An OPTIONS to ``box`` (host:port): any SIP peer that is alive answers it."""
    host, port = local
    return (
        f"OPTIONS sip:{box} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {host}:{port};branch=z9hG4bK-{call_id}\r\n"
        f"From: <sip:probe@{host}:{port}>;tag={call_id}\r\n"
        f"To: <sip:{box}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Max-Forwards: 70\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def in_dialog(method: str, answer: str, local: tuple[str, int], cseq: int = 1) -> bytes:
    """``method`` (ACK, BYE) within the dialog a 2xx ``answer`` to one of ours set up, sent straight to the answer's
    Contact, as a caller would."""
    host, port = local
    head = answer.split("\r\n\r\n", 1)[0]
    found = {
        name: re.search(rf"^{name}:\s*(.+?)\s*$", head, re.M | re.I)
        for name in ("From", "To", "Call-ID", "Contact", "CSeq")
    }
    missing = [name for name, match in found.items() if match is None]
    if missing:
        raise ValueError(f"no {', '.join(missing)} in the answer: {head}")
    value = {name: match.group(1) for name, match in found.items() if match}
    target = re.search(r"<([^>]+)>", value["Contact"])
    number = cseq if method != "ACK" else int(value["CSeq"].split()[0])
    return (
        f"{method} {target.group(1) if target else value['Contact']} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-{method.lower()}-{value['Call-ID']}-{number}\r\n"
        f"From: {value['From']}\r\n"
        f"To: {value['To']}\r\n"
        f"Call-ID: {value['Call-ID']}\r\n"
        f"CSeq: {number} {method}\r\n"
        f"Max-Forwards: 70\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


def messages(sock: socket.socket, within_s: float) -> list[str]:
    """Every message a UDP socket receives until ``within_s`` has passed, as text."""
    found = []
    deadline = time.monotonic() + within_s
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            found.append(sock.recv(65536).decode(errors="replace"))
        except TimeoutError:
            continue
    return found


def status_of(message: str) -> tuple[str, str] | None:
    """The Call-ID and the status code (or the method, for a request) of one message; None for anything else."""
    call_id = re.search(r"^(?:Call-ID|i):\s*(\S+)", message, re.M | re.I)
    words = message.split("\r\n", 1)[0].split()
    if not call_id or len(words) < 2:
        return None
    return call_id.group(1), words[1] if words[0] == "SIP/2.0" else words[0]


def finals(sock: socket.socket, within_s: float, expect: int | None = None) -> dict[str, list[str]]:
    """Call-ID -> the final responses' codes and the requests' methods received on a UDP socket for it, in order,
    until ``within_s`` has passed, or half a second after ``expect`` Call-IDs have had one."""
    found: dict[str, list[str]] = {}
    deadline = time.monotonic() + within_s
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        if expect is not None and len(found) >= expect:
            deadline, expect = min(deadline, time.monotonic() + 0.5), None
        try:
            data = sock.recv(65536).decode(errors="replace")
        except TimeoutError:
            continue
        seen = status_of(data)
        if seen and not seen[1].startswith("1"):
            found.setdefault(seen[0], []).append(seen[1])
    return found


def stream_finals(sock: socket.socket, within_s: float, *, first: bool = False) -> list[str]:
    """The final responses' codes read from a TCP connection until it closes or ``within_s`` has passed (or, with
    ``first``, the first final response has come)."""
    data, codes = b"", list[str]()
    deadline = time.monotonic() + within_s
    sock.settimeout(0.2)
    while time.monotonic() < deadline and not (first and codes):
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:  # reset: the peer gave up on the connection
            break
        if not chunk:
            break
        data += chunk
        while b"\r\n\r\n" in data:
            head, rest = data.split(b"\r\n\r\n", 1)
            length = re.search(rb"^(?:Content-Length|l):\s*(\d+)", head, re.M | re.I)
            size = int(length.group(1)) if length else 0
            if len(rest) < size:
                break
            data = rest[size:]
            words = head.split(b"\r\n", 1)[0].split()
            if len(words) >= 2 and words[0] == b"SIP/2.0" and not words[1].startswith(b"1"):
                codes.append(words[1].decode())
    return codes
