"""Free ports on 127.0.0.1 for the peers, servers and appliances that tests and benchmarks start."""

from __future__ import annotations

import socket


def free_port(kind: int = socket.SOCK_DGRAM, both: bool = False) -> int:
    """A port free for ``kind`` (UDP unless told; TCP too when ``both``) on 127.0.0.1."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not both:
            return port
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def free_media_port() -> int:
    """An even UDP port with the three after it free too on 127.0.0.1: an RTP peer binds its RTCP port (+1),
    and sipp a second stream's pair (+2, +3)."""
    for _ in range(100):
        port = free_port() // 2 * 2
        if not any(udp_bound(p) for p in range(port, port + 4)):
            return port
    raise RuntimeError("no free media port")


def udp_bound(port: int) -> bool:
    """Whether something holds this UDP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def free_port_pair() -> int:
    """A UDP/TCP port whose next port is free too: baresip also listens for TLS on the SIP port + 1."""
    for _ in range(100):
        port = free_port(both=True)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")
