"""The phone edge under the attacks not tested elsewhere (test_edge.py has REFER and Replaces, unlisted sources
and a caller's challenge; test_flood.py the INVITE rate, the per-caller limit, no ACK, no media and RTP from a
third address): fifty half-open INVITEs, malformed SDP and oversized messages (to the box and through the trunk),
and a REGISTER flood. During each, a real caller through the trunk (kamailio) is answered and understood, SIP
stays running, and sip.refusals counts what it should and nothing else. Two more: a burst of INVITEs refused at
once must not take an answered call with it (it did: pjsua2 objects deleted after PJSIP had reused their call
slot), and a caller right after half-open INVITEs are released should get through (an expected failure: PJSIP
holds a slot for about a minute after such a hangup).

The attackers speak raw SIP from Python sockets (testkit.peers.rawsip), since sipp cannot send most of it. They
send from the trusted PBX's address (sip.trusted_sources) or through the trunk, so that PJSIP itself, not the
socket filter in front of it, has to cope."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from appliance.runtime import Runtime
from sip.service import SipService
from sip.settings import CALL_SLOTS
from testkit.peers.rawsip import finals, in_dialog, invite, messages, options, register, stream_finals
from testkit.peers.sipp import call_scenario, run_sipp
from tests.sip.conftest import STRANGER, TRUSTED_PBX, Trunk, until
from tests.sip.tenants import TORONTO_DID, UNOWNED_DID
from tests.sip.test_calls import finished, live_ids, live_session
from tests.sip.test_edge import question_for_sipp

ACK_TIMEOUT_S = 2.0
SIP_OVERRIDES = {"ack_timeout_s": ACK_TIMEOUT_S}  # half-open calls are released sooner than by default
QUESTION, HEARD = "Hello, how much is a wellness exam for my dog?", "wellness"


@pytest.fixture(scope="module")
async def question(loaded: Runtime, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real caller's question as sipp streams it, after 7 s for the greeting."""
    return await question_for_sipp(loaded, QUESTION, tmp_path_factory.mktemp("question"), 7.0)


async def answered_and_understood(
    loaded: Runtime,
    phone: SipService,
    trunk: Trunk,
    question: Path,
    folder: Path,
    attack: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """A real caller through the trunk asks QUESTION after the greeting; ``attack`` runs once the call is up. The
    call must be answered, the caller's words heard (in the call's transcript) and answered, the caller hung up
    on cleanly, and SIP still running."""
    known = live_ids(loaded)
    scenario = call_scenario(audio=question, hold_ms=150000)
    call = asyncio.ensure_future(
        asyncio.to_thread(run_sipp, scenario, service=TORONTO_DID, target=trunk.address, folder=folder, timeout_s=200)
    )
    session = await live_session(loaded, known)
    if attack is not None:
        await attack()
    await until(lambda: len(session.turns.turns) >= 2, 150, "the assistant answered the real caller's question")
    loaded.live.end(session.call.tenant_id, session.call.id, "test")
    result = await call
    assert result.ok, result.output
    await finished(loaded, session)
    turns = loaded.calls.turns(session.call.id)
    assert HEARD in (turns[1].caller or "").lower() and turns[1].reply, turns
    assert phone.status().state == "running"


def _box(phone: SipService) -> tuple[str, tuple[str, int]]:
    box = phone.status().listen or ""
    host, port = box.rsplit(":", 1)
    return box, (host, int(port))


def _peer(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def _udp(source: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)  # a 60 KB datagram in one piece
    sock.bind((source, 0))
    return sock


def _others(refusals: dict[str, int], but: str = "") -> dict[str, int]:
    return {reason: n for reason, n in refusals.items() if reason != but}


async def test_invites_refused_in_the_same_burst_leave_an_answered_call_alone(phone: SipService) -> None:
    """A scanner's burst from the trusted PBX: one INVITE to each of PJSIP's call slots for a number no tenant owns
    (404, and the slot is free again at once), then one to the vet's number. PJSIP reads them in one poll and
    gives the vet's INVITE a slot freed in it; the ended calls' pjsua2 objects must not be deleted while it holds
    that slot (pjsua2's destructor hangs up whatever call holds the slot it names: the call would end unseen,
    its line taken for good). The vet's call is answered and stays up until its caller, having ACKed, hangs up;
    then its line is free, and nothing is counted as a refusal."""
    before = dict(phone.status().refusals)
    box, dest = _box(phone)
    sock = _udp(TRUSTED_PBX)
    local = sock.getsockname()
    burst = [invite(f"scan-{i}", UNOWNED_DID, local, box, 40000) for i in range(CALL_SLOTS)]
    burst.append(invite("scan-vet", TORONTO_DID, local, box, 40002))
    try:
        # Keep the SIP thread busy with a job of its own while the burst arrives, so that it reads all of it in
        # one poll, as it would a burst from the network on a busy box.
        busy = asyncio.ensure_future(phone._engine.run(lambda: time.sleep(0.3)))
        await asyncio.sleep(0.1)
        for message in burst:
            sock.sendto(message, dest)
        await busy
        got = await asyncio.to_thread(messages, sock, 1.0)
        answered = [m for m in got if m.startswith("SIP/2.0 200") and "Call-ID: scan-vet" in m]
        refused = {m.split("Call-ID: ", 1)[1].split()[0] for m in got if m.startswith("SIP/2.0 404")}
        assert answered and refused == {f"scan-{i}" for i in range(CALL_SLOTS)}, got
        sock.sendto(in_dialog("ACK", answered[0], local), dest)
        await asyncio.sleep(1.0)  # the call is up: the assistant greets a caller who says nothing
        sock.sendto(in_dialog("BYE", answered[0], local, cseq=2), dest)
        after = await asyncio.to_thread(messages, sock, 1.0)
    finally:
        sock.close()
    assert not [m for m in after if m.startswith("BYE ")], after  # the box did not end the call itself
    assert any(m.startswith("SIP/2.0 200") and re.search(r"^CSeq:\s*2 BYE", m, re.M) for m in after), after
    await until(lambda: phone.status().lines == 0, 5, "the vet's line is free")
    assert phone.status().refusals == before and phone.status().state == "running"


def _bad_offers(host: str) -> dict[str, str]:
    """SDP bodies no one should answer with 200, by name."""
    head = f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
    return {
        "garbage": "\x00\x01 this is not SDP \xff\xfe\r\n",
        "no-m-line": head,
        "port-99999": head + "m=audio 99999 RTP/AVP 0\r\n",
        "codec-without-rtpmap": head + "m=audio 40000 RTP/AVP 126\r\n",
        "unknown-codec": head + "m=audio 40000 RTP/AVP 126\r\na=rtpmap:126 NOPE/8000\r\n",
        "impossible-address": head.replace(f"c=IN IP4 {host}", "c=IN IP4 999.999.1.1") + "m=audio 40000 RTP/AVP 0\r\n",
        "video-only": head + "m=video 40000 RTP/AVP 31\r\n",
    }


def _oversized(via: str) -> dict[str, str]:
    """Header blocks far over PJSIP's 4,000-byte receive buffer, placed right after the Via: a datagram that big is
    read cut short, and what is left is no whole request."""
    return {
        "60KB-header": "X-Padding: " + "A" * 60000 + "\r\n",
        "1200-vias": "".join(
            f"Via: SIP/2.0/{via} 10.1.{i // 250}.{i % 250}:5060;branch=z9hG4bK{i}\r\n" for i in range(1200)
        ),
    }


def _udp_attack(source: str, target: str, prefix: str) -> dict[str, list[str]]:
    """Every bad offer and oversized INVITE over UDP from ``source`` to ``target`` (host:port); their answers."""
    sock = _udp(source)
    local = sock.getsockname()
    try:
        for name, sdp in _bad_offers(source).items():
            sock.sendto(invite(f"{prefix}-{name}", TORONTO_DID, local, target, 40000, sdp=sdp), _peer(target))
        for name, lines in _oversized("UDP").items():
            sock.sendto(invite(f"{prefix}-{name}", TORONTO_DID, local, target, 40000, first=lines), _peer(target))
        return finals(sock, 15.0, expect=len(_bad_offers(source)))
    finally:
        sock.close()


def _tcp_attack(source: str, target: str, prefix: str) -> dict[str, list[str]]:
    """Each oversized INVITE on a TCP connection of its own from ``source`` to ``target``; then an OPTIONS on a new
    connection, which a peer still alive answers. The final answers on each connection, by name."""
    answers: dict[str, list[str]] = {}
    for name, lines in _oversized("TCP").items():
        with socket.create_connection(_peer(target), timeout=5, source_address=(source, 0)) as conn:
            local = conn.getsockname()
            message = invite(f"{prefix}-{name}", TORONTO_DID, local, target, 40000, first=lines, transport="TCP")
            try:
                conn.sendall(message)
            except OSError:  # the peer closed the connection before it had all of it
                answers[name] = []
                continue
            answers[name] = stream_finals(conn, 2.0)
    with socket.create_connection(_peer(target), timeout=5, source_address=(source, 0)) as conn:
        conn.sendall(options(f"{prefix}-alive", conn.getsockname(), target, transport="TCP"))
        answers["options-after"] = stream_finals(conn, 5.0, first=True)
    return answers


def _errors(codes: list[str]) -> bool:
    return all(code[0] in "45" for code in codes)


async def test_malformed_sdp_and_oversized_messages_get_an_error_or_nothing(
    loaded: Runtime, phone: SipService, trunk: Trunk, question: Path, tmp_path: Path
) -> None:
    """While a real caller is on the line: INVITEs with SDP that is garbage, has no m= line, an impossible port,
    address or codec, or only video, and INVITEs whose headers run far over PJSIP's buffer (a 60 KB header, 1,200
    Vias) over UDP and TCP, sent to the box from the trusted PBX and through kamailio. Every answer is a 4xx or
    5xx, each bad offer sent to the box gets one, the box's TCP listener still answers an OPTIONS, kamailio keeps
    running, and nothing is counted as a refused call; the caller is answered and understood throughout."""
    before = dict(phone.status().refusals)
    box, _ = _box(phone)
    seen: dict[str, dict[str, list[str]]] = {}

    async def attack() -> None:
        parts = await asyncio.gather(
            asyncio.to_thread(_udp_attack, TRUSTED_PBX, box, "direct"),
            asyncio.to_thread(_udp_attack, "127.0.0.1", trunk.address, "trunk"),
            asyncio.to_thread(_tcp_attack, TRUSTED_PBX, box, "direct-tcp"),
            asyncio.to_thread(_tcp_attack, "127.0.0.1", trunk.address, "trunk-tcp"),
        )
        seen.update(zip(["direct", "trunk", "direct-tcp", "trunk-tcp"], parts, strict=True))

    await answered_and_understood(loaded, phone, trunk, question, tmp_path / "caller", attack)
    direct = seen["direct"]
    answers = [codes for part in seen.values() for name, codes in part.items() if name != "options-after"]
    assert all(_errors(codes) for codes in answers), seen
    assert all(direct.get(f"direct-{name}") for name in _bad_offers(TRUSTED_PBX)), direct  # each was refused
    assert seen["direct-tcp"]["options-after"] == ["200"], seen["direct-tcp"]
    assert seen["trunk-tcp"]["options-after"], seen["trunk-tcp"]  # kamailio's answer (it is no one's OPTIONS)
    assert trunk.kamailio.proc is not None and trunk.kamailio.proc.poll() is None  # kamailio still runs
    await until(lambda: phone.status().lines == 0, 10, "no half-set-up call is left")
    assert phone.status().refusals == before


def _register_flood(source: str, box: str, count: int, per_s: float) -> dict[str, list[str]]:
    """``count`` REGISTERs from ``source`` at ``per_s`` a second, each a new registration; the answers to them."""
    sock = _udp(source)
    local = sock.getsockname()
    try:
        start = time.monotonic()
        for i in range(count):
            sock.sendto(register(f"reg-{source}-{i}", f"phone{i % 50}", local, box), _peer(box))
            ahead = start + i / per_s - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        return finals(sock, 1.0)
    finally:
        sock.close()


async def test_a_register_flood_is_not_answered_as_a_registrar_would(
    loaded: Runtime, phone: SipService, trunk: Trunk, question: Path, tmp_path: Path
) -> None:
    """While a real caller is on the line, 3,000 REGISTERs at the box, which is no registrar: 2,000 from the
    trusted PBX (all reach PJSIP) and 1,000 from an unlisted address (the socket filter lets a sample through).
    None is accepted (PJSIP answers none, or with an error), no call slot is taken, nothing is counted as a refused
    call, the box stays registered with its trunk, and the caller is answered and understood."""
    before = dict(phone.status().refusals)
    box, _ = _box(phone)
    seen: dict[str, list[str]] = {}

    async def attack() -> None:
        for part in await asyncio.gather(
            asyncio.to_thread(_register_flood, TRUSTED_PBX, box, 2000, 500.0),
            asyncio.to_thread(_register_flood, STRANGER, box, 1000, 250.0),
        ):
            seen.update(part)
        assert phone.status().lines == 1  # the caller's, and no other

    await answered_and_understood(loaded, phone, trunk, question, tmp_path / "caller", attack)
    assert all(_errors(codes) for codes in seen.values()), seen
    assert phone.status().trunks[0].state == "registered"
    assert phone.status().refusals == before


async def test_fifty_half_open_invites_leave_a_caller_on_the_line_alone_and_are_released(
    loaded: Runtime, phone: SipService, trunk: Trunk, question: Path, tmp_path: Path
) -> None:
    """While a real caller is on the line: fifty INVITEs at once from the trusted PBX to the vet's number, none ever
    ACKed. The box answers as many as it has call slots left for (a conversation up to sip.max_calls, busy
    messages in the rest), PJSIP refuses the others with 486 before any call is set up (so they never reach the
    rate limit), each answered one is hung up after sip.ack_timeout_s and counted as no_ack, nothing else is
    counted, and the caller is answered and understood throughout.

    Run last but one: PJSIP keeps the slot of a call hung up before its ACK for about a minute (see below)."""
    before = dict(phone.status().refusals)
    box, dest = _box(phone)
    seen: dict[str, list[str]] = {}

    async def attack() -> None:
        sock = _udp(TRUSTED_PBX)
        try:
            for i in range(50):
                sock.sendto(invite(f"half-open-{i}", TORONTO_DID, sock.getsockname(), box, 40000 + 2 * i), dest)
            seen.update(await asyncio.to_thread(finals, sock, 15.0, 50))
        finally:
            sock.close()
        await until(lambda: phone.status().lines == 1, 10, "every half-open call is released")

    await answered_and_understood(loaded, phone, trunk, question, tmp_path / "caller", attack)
    free = CALL_SLOTS - 1  # the caller holds one
    firsts = sorted(codes[0] for codes in seen.values())
    assert len(seen) == 50 and firsts == ["200"] * free + ["486"] * (50 - free), seen
    refusals = phone.status().refusals
    assert refusals.get("no_ack", 0) == before.get("no_ack", 0) + free
    assert _others(refusals, "no_ack") == _others(before, "no_ack")


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="PJSIP keeps a call slot after a hangup before the ACK: it holds the BYE until its 2xx retransmissions"
    " give up (32 s), then waits out the BYE (32 s more); the wheel has 4 slots, so half-open INVITEs the box has"
    " already released still refuse real callers (PJSIP's own 486) for about a minute",
)
async def test_a_caller_right_after_half_open_invites_are_released_is_answered(
    phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    """Half-open INVITEs for every call slot from the trusted PBX; once the box has released them all (no ACK), a
    caller through the trunk must get through."""
    box, dest = _box(phone)
    sock = _udp(TRUSTED_PBX)
    try:
        for i in range(CALL_SLOTS):
            sock.sendto(invite(f"held-{i}", TORONTO_DID, sock.getsockname(), box, 40000 + 2 * i), dest)
        await asyncio.to_thread(finals, sock, 1.0)
    finally:
        sock.close()
    await until(lambda: phone.status().lines == 0, ACK_TIMEOUT_S + 8, "the box released every half-open call")
    call = await asyncio.to_thread(
        run_sipp, call_scenario(hold_ms=1000), service=TORONTO_DID, target=trunk.address, folder=tmp_path, timeout_s=30
    )
    assert call.ok, call.output  # answered: PJSIP's 486 fails the scenario
