"""Unlisted sources dropped by the kernel, before PJSIP reads them: a socket filter on the SIP sockets.

PJSIP sets up a call's media (an RTP and an RTCP socket) for every INVITE with SDP before the application hears of
it, and a closed socket's slot in its I/O queue is only freed 500 ms later. The pjsua2-python wheel's queue has 64
slots, so about sixty INVITEs a second from anywhere, even ones refused at once, run it out, and PJSIP aborts the
process (``pj_ioqueue_register_sock2: Assertion `!pj_list_empty(&ioqueue->free_list)' failed``). A classic BPF
filter on the SIP sockets (UDP, and the TCP listener's SYNs) lets through the networks calls may come from and
only a random one in ``SAMPLE`` packets from anywhere else: those still get their 403, are counted and logged, so
an operator sees a carrier calling from an address not yet listed, and a flood reaches PJSIP at a sixteenth of its
rate. No privilege is needed to filter one's own sockets. IPv4 only, as the SIP transports are.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import socket
import struct
from collections.abc import Sequence
from pathlib import Path

from sip.settings import Network

SAMPLE = 64  # one packet in this many from an unlisted address reaches PJSIP
_SO_ATTACH_FILTER, _SO_DETACH_FILTER = 26, 27
_SKF_NET_OFF = -0x100000
_SKF_AD_RANDOM = -0x1000 + 56
_LD_W_ABS, _AND_K, _JEQ_K, _RET_K = 0x20, 0x54, 0x15, 0x06
_ACCEPT, _DROP = 0xFFFFFFFF, 0


def program(networks: Sequence[Network]) -> list[tuple[int, int, int, int]] | None:
    """The filter's instructions; None when every address is allowed (no filter needed)."""
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    if any(n.prefixlen == 0 for n in v4):
        return None
    steps: list[tuple[int, int, int, int]] = []
    for net in v4:
        steps += [
            (_LD_W_ABS, 0, 0, (_SKF_NET_OFF + 12) & 0xFFFFFFFF),  # the IPv4 source address
            (_AND_K, 0, 0, int(net.netmask)),
            (_JEQ_K, 0, 1, int(net.network_address)),
            (_RET_K, 0, 0, _ACCEPT),
        ]
    steps += [
        (_LD_W_ABS, 0, 0, _SKF_AD_RANDOM & 0xFFFFFFFF),
        (_AND_K, 0, 0, SAMPLE - 1),
        (_JEQ_K, 0, 1, 0),
        (_RET_K, 0, 0, _ACCEPT),
        (_RET_K, 0, 0, _DROP),
    ]
    return steps


def attach(sock: socket.socket, steps: list[tuple[int, int, int, int]]) -> None:
    """Replace ``sock``'s filter (the kernel swaps it whole)."""
    code = b"".join(struct.pack("HBBI", *step) for step in steps)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HxxxxxxQ", len(steps), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)


def listening_sockets(port: int) -> list[socket.socket]:
    """This process's IPv4 UDP sockets and TCP listeners bound to ``port``, as new socket objects over duplicated
    descriptors (closing them leaves PJSIP's own open; a filter set on them is set on PJSIP's)."""
    inodes: set[str] = set()
    for table, listening in (("udp", None), ("tcp", "0A")):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and (listening is None or fields[3] == listening):
                inodes.add(fields[9])
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:[") and target[8:-1] in inodes:
            found.append(socket.socket(fileno=os.dup(int(fd.name))))
    return found


class SourceFilter:
    """The filter on the SIP sockets listening on ``port``, kept in step with the networks allowed."""

    def __init__(self, port: int, always: Sequence[Network]) -> None:
        """``always``: addresses let through whatever is allowed (the engine's own wake-up datagrams)."""
        self._port = port
        self._always = tuple(always)
        self.sockets = 0  # how many sockets the last apply filtered

    def apply(self, networks: Sequence[Network]) -> None:
        """Filter for ``networks`` (raises OSError when the kernel refuses the filter)."""
        steps = program([*self._always, *networks])
        sockets = listening_sockets(self._port)
        try:
            for sock in sockets:
                if steps is not None:
                    attach(sock, steps)
                else:  # everyone is allowed
                    with contextlib.suppress(FileNotFoundError):  # none was attached
                        sock.setsockopt(socket.SOL_SOCKET, _SO_DETACH_FILTER, 0)
        finally:
            for sock in sockets:
                sock.close()
        self.sockets = len(sockets)
