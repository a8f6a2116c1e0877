"""The phone edge against a hostile caller: only the trunk (and trusted sources) may send calls, nothing dials out
on a caller's say-so (REFER, Replaces), and the trunk's credentials answer no one but the trunk's registrar."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import subprocess
from pathlib import Path

import pytest

from appliance.runtime import Runtime
from core.events import TransferRequested
from sip.line import TRANSFER_FAILED_LINE
from sip.registration import challenge_realm
from sip.service import SipService
from sip.settings import SipSettings, TrunkSettings, network, sip_problems
from sip.sources import Sources
from testkit.peers.rawsip import finals, invite
from testkit.peers.sipp import (
    SippResult,
    call_scenario,
    challenged_bye_scenario,
    declined_refer_scenario,
    refused_scenario,
    run_sipp,
)
from testkit.sounds import piper_clip, with_silence
from tests.sip.conftest import STRANGER, TRUSTED_PBX, Trunk, until
from tests.sip.tenants import HUMAN_NUMBER, TORONTO_DID
from tests.sip.test_calls import finished, live_ids, live_session


async def sipp(scenario: str, trunk: Trunk, folder: Path, timeout_s: float = 120) -> SippResult:
    return await asyncio.to_thread(
        run_sipp, scenario, service=TORONTO_DID, target=trunk.address, folder=folder, timeout_s=timeout_s
    )


def sent_to_sipp(folder: Path) -> str:
    """Every message sipp received or sent (its -trace_msg log)."""
    return "".join(p.read_text(errors="replace") for p in folder.glob("*_messages.log"))


async def question_for_sipp(runtime: Runtime, text: str, folder: Path, before_s: float) -> Path:
    """A spoken question as the raw mu-law sipp streams, after ``before_s`` of silence (the greeting)."""
    clip = await piper_clip(runtime.models.tts(), text, folder)
    padded = with_silence(clip, folder / "question.wav", before_s=before_s, after_s=1.0)
    out = folder / "question.ulaw"
    command = ["sox", str(padded), "-t", "raw", "-r", "8000", "-c", "1", "-e", "mu-law", str(out)]
    await asyncio.to_thread(subprocess.run, command, check=True)
    return out


async def test_a_callers_refer_is_declined_and_the_call_goes_on(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    """A caller asks the box to transfer them to a premium number, through the trunk and directly: both REFERs
    get 603, no INVITE leaves the box for either target, and the assistant still answers the caller."""
    question = await question_for_sipp(loaded, "Hello, how much is a wellness exam for my dog?", tmp_path, 7.0)
    # The "human" extension behind the trunk, and a target named directly: whoever dials either reaches this.
    target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target.bind(("127.0.0.1", trunk.human_port))
    target.setblocking(False)
    before = dict(phone.status().refusals)
    known = live_ids(loaded)
    refer_to = [trunk.uri(HUMAN_NUMBER), f"sip:+19005550100@127.0.0.1:{trunk.human_port}"]
    scenario = declined_refer_scenario(refer_to, audio=question, hold_ms=150000)
    call = asyncio.ensure_future(sipp(scenario, trunk, tmp_path / "caller", timeout_s=200))
    try:
        session = await live_session(loaded, known)
        await until(lambda: len(session.turns.turns) >= 2, 150, "the assistant answered the question")
        await until(lambda: session.playout.buffered_seconds == 0, 60, "the answer was played")
        loaded.live.end(session.call.tenant_id, session.call.id, "test")
        result = await call
        assert result.ok, result.output
        await finished(loaded, session)
        with pytest.raises(BlockingIOError):
            target.recv(65536)  # nothing was sent to either target, through the trunk or directly
    finally:
        target.close()
    record = loaded.calls.get(session.call.id)
    assert "transfer" not in record.meta["sip"] and record.outcome != "transferred"
    turns = loaded.calls.turns(session.call.id)
    assert "wellness" in (turns[1].caller or "").lower() and turns[1].reply
    assert phone.status().refusals.get("refer", 0) == before.get("refer", 0) + 2
    assert phone.status().public().refusals == phone.status().refusals  # /healthz shows them


async def test_a_transfer_to_a_number_the_business_has_not_set_up_never_leaves_the_box(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The last check before the trunk dials. A transfer that got past the core's checks (here asked for on the
    call's own bus) to a number that is none of the business's: no REFER is sent, the caller hears that nobody
    could be reached and stays with the assistant, and the refusal is logged and audited. The business's own
    transfer number still goes out (test_calls.py, pressing zero)."""
    known = live_ids(loaded)
    refused_before = phone.status().refusals.get("transfer", 0)
    call = asyncio.ensure_future(sipp(call_scenario(hold_ms=90000), trunk, tmp_path / "caller", timeout_s=120))
    session = await live_session(loaded, known)
    await until(lambda: len(session.turns.turns) >= 1 and session.playout.buffered_seconds == 0, 60, "greeted")
    with caplog.at_level(logging.WARNING):
        session.bus.publish(TransferRequested("+1 900 555 0100", "taken over by user:mallory"))
        await until(
            lambda: any(t.reply == TRANSFER_FAILED_LINE for t in session.turns.turns), 60, "the caller was told"
        )
    assert session.leaving is None and session.call.id in live_ids(loaded)  # the call stays with the assistant
    assert phone.status().refusals.get("transfer", 0) == refused_before + 1
    loaded.live.end(session.call.tenant_id, session.call.id, "test")
    result = await call
    assert result.ok, result.output  # sipp fails a call on any request it does not expect, a REFER included
    await finished(loaded, session)
    assert not re.search(r"^REFER ", sent_to_sipp(tmp_path / "caller"), re.M)  # no REFER request reached it
    record = loaded.calls.get(session.call.id)
    assert record.meta["sip"]["transfer"] == {
        "target": "+1 900 555 0100",
        "reason": "taken over by user:mallory",
        "status": "refused",
        "result": "refused",
    }
    assert record.outcome != "transferred" and record.meta["sip"]["hangup_by"] == "assistant"
    audited = loaded.store.rows(
        "SELECT actor, detail FROM audit_log WHERE action = 'call.transfer_refused' AND target = ?", [session.call.id]
    )
    assert [(actor, json.loads(detail)) for actor, detail in audited] == [
        ("sip", {"target": "+1 900 555 0100", "by": "taken over by user:mallory"})
    ]
    lines = [f"{r.getMessage()} {r.msg}" for r in caplog.records]
    assert any("refused at the SIP edge" in line and "+1 900 555 0100" in line for line in lines), lines


def _dialog(messages: str) -> tuple[str, str, str]:
    """Call-ID, the box's tag and the caller's tag of the call in sipp's message log (from the 200 to INVITE)."""
    for message in re.split(r"\n(?=SIP/2\.0 |[A-Z]+ sip:)", messages):
        if message.startswith("SIP/2.0 200") and re.search(r"^CSeq:\s*1 INVITE", message, re.M):
            call_id = re.search(r"^Call-ID:\s*(\S+)", message, re.M | re.I)
            to_tag = re.search(r"^To:.*;tag=([^;\s>]+)", message, re.M | re.I)
            from_tag = re.search(r"^From:.*;tag=([^;\s>]+)", message, re.M | re.I)
            assert call_id and to_tag and from_tag, message
            return call_id.group(1), to_tag.group(1), from_tag.group(1)
    raise AssertionError("no 200 OK to the INVITE in sipp's log")


async def test_an_invite_replacing_a_call_is_declined(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    """A second caller names a live call in Replaces, to take it over: 603, and the first call goes on."""
    before = phone.status().refusals.get("replaces", 0)
    known = live_ids(loaded)
    held = asyncio.ensure_future(sipp(call_scenario(hold_ms=60000), trunk, tmp_path / "held", timeout_s=90))
    session = await live_session(loaded, known)
    await asyncio.sleep(1.0)  # sipp's log has the 200 OK
    call_id, box_tag, caller_tag = _dialog(sent_to_sipp(tmp_path / "held"))
    replaces = f"Replaces: {call_id};to-tag={box_tag};from-tag={caller_tag}"
    taker = await sipp(refused_scenario(603, caller="+15559990000", extra=replaces), trunk, tmp_path / "taker", 30)
    assert taker.ok, taker.output
    assert phone.status().refusals.get("replaces", 0) == before + 1
    assert session.call.id in live_ids(loaded)  # the first call is still the assistant's
    loaded.live.end(session.call.tenant_id, session.call.id, "test")
    assert (await held).ok
    await finished(loaded, session)
    assert loaded.calls.get(session.call.id).meta["sip"]["hangup_by"] == "assistant"


async def test_a_callers_challenge_gets_no_digest(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    """The box hangs up; the caller answers its BYE with a 407 under a realm of its own. The box must not send
    the BYE again with credentials (the trunk's password, as a digest to crack offline)."""
    known = live_ids(loaded)
    call = asyncio.ensure_future(sipp(challenged_bye_scenario("calls.example"), trunk, tmp_path, timeout_s=90))
    session = await live_session(loaded, known)
    await asyncio.sleep(1.0)
    loaded.live.end(session.call.tenant_id, session.call.id, "test")
    result = await call
    assert result.ok, result.output  # a second BYE would have been unexpected
    messages = sent_to_sipp(tmp_path)
    assert "407 Proxy Authentication Required" in messages
    assert "Authorization:" not in messages, messages
    await finished(loaded, session)
    # The trunk's own challenge is still answered: the account registered with the realm it learned.
    assert phone.status().trunks[0].state == "registered"


def test_the_realm_of_a_challenge_is_read() -> None:
    challenge = (
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
        'WWW-Authenticate: Digest realm="sip.carrier.example", nonce="abc", qop="auth"\r\nContent-Length: 0\r\n\r\n'
    )
    assert challenge_realm(challenge) == "sip.carrier.example"
    assert challenge_realm(challenge.replace("WWW-", "Proxy-")) == "sip.carrier.example"
    assert challenge_realm("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n") is None


def test_a_realm_that_answers_anyone_is_refused() -> None:
    trunk = TrunkSettings(name="main", registrar="sip.carrier.example", username="box", realm="*")
    problems = sip_problems(SipSettings(trunks=[trunk]))
    assert any("realm" in p for p in problems), problems


async def direct_sipp(scenario: str, phone: SipService, local_ip: str, folder: Path, calls: int = 1) -> SippResult:
    """sipp from ``local_ip`` straight to the box, not through the trunk."""
    return await asyncio.to_thread(
        run_sipp,
        scenario,
        service=TORONTO_DID,
        target=phone.status().listen or "",
        folder=folder,
        calls=calls,
        timeout_s=30,
        local_ip=local_ip,
    )


def _forbidden_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = [f"{r.getMessage()} {r.msg}" for r in caplog.records]
    return [line for line in lines if "neither a trunk's nor trusted" in line]


async def test_a_call_from_an_address_that_is_not_the_trunks_gets_403(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """640 INVITEs straight at the box from an address that is neither the trunk's nor trusted: the kernel's
    socket filter drops all but about one in sip.sockfilter.SAMPLE, those get 403, no call is set up for any,
    each 403 is counted, and one log line says so. The trunk's calls are still answered."""
    before, held = phone.status().refusals.get("source", 0), phone.status().lines
    known = live_ids(loaded)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((STRANGER, 0))
    box = phone.status().listen or ""
    host, port = box.rsplit(":", 1)
    with caplog.at_level(logging.WARNING):
        try:
            for i in range(640):
                sock.sendto(invite(f"scan-{i}", TORONTO_DID, sock.getsockname(), box, 40000), (host, int(port)))
                await asyncio.sleep(0.002)  # 500 a second
            got = await asyncio.to_thread(finals, sock, 3.0)
        finally:
            sock.close()
        refused = sum(codes[0] == "403" for codes in got.values())
        assert 0 < refused < 640 // 8 and all(codes[0] == "403" for codes in got.values()), got
        await until(lambda: phone.status().refusals.get("source", 0) == before + refused, 5, "they are counted")
    assert live_ids(loaded) == known and phone.status().lines == held  # no call was set up for any of them
    lines = _forbidden_lines(caplog)
    assert len(lines) == 1, lines  # many INVITEs within a minute from one source: one line
    assert STRANGER in lines[0] and TORONTO_DID in lines[0], lines[0]
    call = asyncio.ensure_future(sipp(call_scenario(hold_ms=3000), trunk, tmp_path / "trunk", timeout_s=60))
    session = await live_session(loaded, known)
    assert (await call).ok
    await finished(loaded, session)


async def test_a_trusted_source_may_call_the_box_directly(loaded: Runtime, phone: SipService, tmp_path: Path) -> None:
    """A PBX on the LAN, in sip.trusted_sources, dials the box's address directly and is answered."""
    before = phone.status().refusals.get("source", 0)
    known = live_ids(loaded)
    call = asyncio.ensure_future(direct_sipp(call_scenario(hold_ms=3000), phone, TRUSTED_PBX, tmp_path))
    session = await live_session(loaded, known)
    assert (await call).ok
    await finished(loaded, session)
    assert phone.status().refusals.get("source", 0) == before


def test_sources_are_matched_by_address_and_bad_networks_are_settings_problems() -> None:
    sources = Sources([network("203.0.113.0/24"), network("2001:db8::1")])
    sources.update({"main": (network("192.0.2.10"),)})
    assert sources.allows("203.0.113.77:5060") and sources.allows("192.0.2.10:5080")
    assert sources.allows("[2001:db8::1]:5060") and sources.allows("[::ffff:192.0.2.10]:5060")
    assert not sources.allows("192.0.2.11:5060") and not sources.allows("nonsense")
    sources.update({"main": (network("192.0.2.11"),)})  # the registrar moved
    assert not sources.allows("192.0.2.10:5060") and sources.allows("192.0.2.11:5060")
    trunk = TrunkSettings(name="main", registrar="sip.carrier.example", username="box", allow=["10.0.0.0/33"])
    problems = sip_problems(SipSettings(trunks=[trunk], trusted_sources=["lan"]))
    assert any(p.startswith("sip.trunks[0].allow: '10.0.0.0/33'") for p in problems), problems
    assert any(p.startswith("sip.trusted_sources: 'lan'") for p in problems), problems
