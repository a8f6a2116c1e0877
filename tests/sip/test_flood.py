"""The phone edge under a flood: a source sending INVITEs faster than sip.invites_per_second, a caller number
calling more often than sip.calls_per_caller_per_hour, an answer never ACKed, a call with no audio, and a third
address taking over a call's RTP. Each is refused or hung up, counted, and the box goes on answering."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from appliance.runtime import Runtime
from core.quiet import Quiet
from sip.limits import Rate
from sip.service import SipService
from sip.settings import SipSettings, sip_problems
from testkit.peers.rawsip import finals, invite
from testkit.peers.sipp import SippResult, call_scenario, refused_scenario, run_sipp
from testkit.sounds import piper_clip, with_silence
from tests.sip.conftest import STRANGER, TRUSTED_PBX, Trunk, until
from tests.sip.tenants import TORONTO_DID, UNOWNED_DID
from tests.sip.test_calls import finished, live_ids, live_session

SIP_OVERRIDES = {
    "invites_per_second": 2.0,
    "calls_per_caller_per_hour": 2,
    "ack_timeout_s": 2.0,
    "media_timeout_s": 6.0,
}


def test_a_rate_allows_its_burst_then_refills() -> None:
    rate = Rate(per_s=2.0, burst=4.0)
    assert [rate.take("a", 0.0) for _ in range(5)] == [True, True, True, True, False]
    assert rate.take("b", 0.0)  # per key
    assert not rate.take("a", 0.2) and rate.take("a", 0.5)  # one token back after half a second
    assert all(Rate(per_s=0, burst=0).take("a", 0.0) for _ in range(100))  # 0: no limit


def test_quiet_says_when_a_line_is_due_and_how_many_went_unlogged() -> None:
    clock = [0.0]
    quiet = Quiet(every_s=60.0, clock=lambda: clock[0])
    assert quiet.due("x") == 0
    clock[0] = 1.0
    assert quiet.due("x") is None and quiet.due("x") is None
    assert quiet.due("y") == 0
    clock[0] = 61.0
    assert quiet.due("x") == 2


async def test_a_source_over_its_invite_rate_gets_503_and_the_rest_are_routed(phone: SipService) -> None:
    """Six INVITEs at once from a trusted PBX (to a number no tenant owns): the first four (the burst, twice
    sip.invites_per_second) are routed (404), the rest refused with 503, counted, logged once."""
    before = phone.status().refusals.get("rate", 0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((TRUSTED_PBX, 0))
    box = phone.status().listen or ""
    host, port = box.rsplit(":", 1)
    try:
        for i in range(6):
            sock.sendto(invite(f"flood-{i}", UNOWNED_DID, sock.getsockname(), box, 40000), (host, int(port)))
        answered = await asyncio.to_thread(finals, sock, 3.0)
    finally:
        sock.close()
    assert sorted(codes[0] for codes in answered.values()) == ["404"] * 4 + ["503"] * 2, answered
    assert phone.status().refusals.get("rate", 0) == before + 2


async def test_an_answer_never_acked_is_hung_up_and_frees_its_line(phone: SipService, loaded: Runtime) -> None:
    """A caller INVITEs, gets 200, never ACKs: after sip.ack_timeout_s the box ends the call on its side (a BYE
    may only follow an ACK), counts it, and the line is free again."""
    before = phone.status().refusals.get("no_ack", 0)
    known = live_ids(loaded)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((TRUSTED_PBX, 0))
    box = phone.status().listen or ""
    host, port = box.rsplit(":", 1)
    try:
        sock.sendto(invite("half-open-1", TORONTO_DID, sock.getsockname(), box, 40002), (host, int(port)))
        session = await live_session(loaded, known)
        seen = await asyncio.to_thread(finals, sock, 5.0)
    finally:
        sock.close()
    assert seen["half-open-1"][0] == "200", seen
    await until(lambda: phone.status().refusals.get("no_ack", 0) == before + 1, 5, "the release is counted")
    await finished(loaded, session)
    record = loaded.calls.get(session.call.id)
    assert record.meta["sip"]["released"] == "no_ack" and record.meta["sip"]["hangup_by"] == "appliance"
    await until(lambda: phone.status().active_calls == 0, 5, "the line is free")


async def _sipp(scenario: str, trunk: Trunk, folder: Path, timeout_s: float = 60) -> SippResult:
    return await asyncio.to_thread(
        run_sipp, scenario, service=TORONTO_DID, target=trunk.address, folder=folder, timeout_s=timeout_s
    )


async def test_a_caller_number_over_its_hourly_limit_gets_603(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """sip.calls_per_caller_per_hour = 2: a number's third call within the hour gets 603, counted and logged;
    another number is still answered."""
    caller = "+15557770001"
    before = phone.status().refusals.get("caller_rate", 0)
    for i in range(2):
        await _short_call(loaded, trunk, caller, tmp_path / f"call{i}")
    with caplog.at_level(logging.WARNING):
        refused = await _sipp(refused_scenario(603, caller=caller), trunk, tmp_path / "third")
    assert refused.ok, refused.output
    assert phone.status().refusals.get("caller_rate", 0) == before + 1
    assert any("calls_per_caller_per_hour" in f"{r.getMessage()} {r.msg}" for r in caplog.records)
    await _short_call(loaded, trunk, "+15557770002", tmp_path / "other")


async def _short_call(loaded: Runtime, trunk: Trunk, caller: str, folder: Path) -> None:
    known = live_ids(loaded)
    call = asyncio.ensure_future(_sipp(call_scenario(caller=caller, hold_ms=1000), trunk, folder))
    session = await live_session(loaded, known)
    answered = await call
    assert answered.ok, answered.output
    await finished(loaded, session)


async def test_a_call_with_no_audio_from_the_caller_is_hung_up(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    """A caller whose phone sends no RTP: after sip.media_timeout_s the box hangs up (the caller gets its BYE)."""
    before = phone.status().refusals.get("no_media", 0)
    known = live_ids(loaded)
    call = asyncio.ensure_future(_sipp(call_scenario(hold_ms=30000, far_end_hangs_up=True), trunk, tmp_path))
    session = await live_session(loaded, known)
    result = await call
    assert result.ok, result.output  # the BYE came within 30 s
    await finished(loaded, session)
    assert phone.status().refusals.get("no_media", 0) == before + 1
    assert loaded.calls.get(session.call.id).meta["sip"]["released"] == "no_media"


def _box_media_port(folder: Path) -> int:
    messages = "".join(p.read_text(errors="replace") for p in folder.glob("*_messages.log"))
    found = re.search(r"^SIP/2\.0 200 OK.*?^m=audio (\d+)", messages, re.M | re.S)
    assert found, messages
    return int(found.group(1))


async def test_rtp_from_a_third_address_ends_the_call(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    """While the caller talks, another address sends RTP to the call's port in bursts (enough for PJSIP to switch
    the call's audio to it): the box hangs up within about a second, and says why."""
    clip = await piper_clip(loaded.models.tts(), "I would like to book a wellness exam for my dog next week.", tmp_path)
    padded = with_silence(clip, tmp_path / "talk.wav", before_s=0.5, after_s=20.0)
    audio = tmp_path / "talk.ulaw"
    sox = ["sox", str(padded), "-t", "raw", "-r", "8000", "-c", "1", "-e", "mu-law", str(audio)]
    await asyncio.to_thread(subprocess.run, sox, check=True)
    before = phone.status().refusals.get("rtp_source", 0)
    known = live_ids(loaded)
    folder = tmp_path / "caller"
    call = asyncio.ensure_future(_sipp(call_scenario(audio=audio, hold_ms=30000, far_end_hangs_up=True), trunk, folder))
    session = await live_session(loaded, known)
    await asyncio.sleep(1.0)  # the 200 OK is in sipp's log; the caller's RTP flows
    port = _box_media_port(folder)
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attacker.bind((STRANGER, 0))
    attacker.setblocking(False)
    try:
        seq = 0
        deadline = time.monotonic() + 10
        while not call.done() and time.monotonic() < deadline:
            for _ in range(15):  # more in a row than PJSIP's probation before it follows a new source
                seq += 1
                header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 0x5EED)
                attacker.sendto(header + b"\xff" * 160, ("127.0.0.1", port))
            await asyncio.sleep(0.02)
    finally:
        attacker.close()
    result = await call
    assert result.ok, result.output  # the box's BYE reached the real caller
    await finished(loaded, session)
    assert phone.status().refusals.get("rtp_source", 0) == before + 1
    sip = loaded.calls.get(session.call.id).meta["sip"]
    assert sip["released"] == "rtp_source" and sip["hangup_by"] == "appliance"


async def test_a_scanner_flooding_invites_is_shed_and_real_calls_are_still_answered(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    """2,000 INVITEs at 200 a second from an address that is not the trunk's (enough, before the socket filter,
    for PJSIP to run out of socket slots and abort the process): the kernel drops most of them, the sample that
    reaches PJSIP gets 403 and is counted, and a call through the trunk placed during the flood is answered."""
    before = phone.status().refusals.get("source", 0)
    box = phone.status().listen or ""
    flood = asyncio.ensure_future(
        asyncio.to_thread(
            run_sipp,
            refused_scenario(403, caller="+19005550199"),
            service=TORONTO_DID,
            target=box,
            folder=tmp_path / "scanner",
            calls=2000,
            rate=200,
            timeout_s=40,
            local_ip=STRANGER,
        )
    )
    await asyncio.sleep(3.0)
    await _short_call(loaded, trunk, "+15557770003", tmp_path / "real")
    await flood  # most of its calls time out unanswered: the kernel dropped their INVITEs
    refused = phone.status().refusals.get("source", 0) - before
    assert 0 < refused < 1000, refused  # about one in SAMPLE of the INVITEs and their retransmissions
    assert phone.status().state == "running"


def test_flood_limits_out_of_range_are_settings_problems_naming_the_key() -> None:
    problems = sip_problems(SipSettings(invites_per_second=-1, ack_timeout_s=0.5, media_timeout_s=2))
    assert any(p.startswith("sip.invites_per_second") for p in problems), problems
    assert any(p.startswith("sip.ack_timeout_s") and "media_timeout_s" in p for p in problems), problems
    assert sip_problems(SipSettings(calls_per_caller_per_hour=0, media_timeout_s=0)) == []  # 0 turns them off
