"""Calls from real SIP peers through kamailio to the appliance's SIP service."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile

from appliance.runtime import Runtime
from core.audio import read_wav
from core.calls.session import CallSession
from core.errors import NotFoundError
from sip.service import SipService
from testkit.peers.baresip import Baresip, wav_for_line
from testkit.peers.sipp import Dtmf, SippResult, call_scenario, raw_scenario, refused_scenario, run_sipp
from testkit.sounds import piper_clip
from tests.sip.conftest import Trunk, until
from tests.sip.tenants import BERLIN_DID, HUMAN_NUMBER, TORONTO_DID, UNOWNED_DID


def speech(pcm: np.ndarray, rate: int, threshold: float = 500.0, gap_s: float = 0.6) -> list[tuple[float, float]]:
    """Stretches of speech (start, end) in seconds: 20 ms frames louder than ``threshold`` RMS, gaps merged."""
    frame = rate // 50
    frames = pcm[: len(pcm) // frame * frame].reshape(-1, frame).astype(np.float64)
    loud = np.sqrt((frames**2).mean(axis=1)) > threshold
    spans: list[tuple[float, float]] = []
    for i in np.flatnonzero(loud):
        t = i / 50
        if spans and t - spans[-1][1] <= gap_s:
            spans[-1] = (spans[-1][0], t + 0.02)
        else:
            spans.append((t, t + 0.02))
    return [s for s in spans if s[1] - s[0] >= 0.3]


def live_ids(runtime: Runtime) -> set[str]:
    return {s.call.id for s in runtime.live.sessions()}


async def live_session(runtime: Runtime, known: set[str] | None = None) -> CallSession:
    """The call that has just reached the appliance."""
    deadline = time.monotonic() + 10
    while True:
        fresh = [s for s in runtime.live.sessions() if s.call.id not in (known or set())]
        if fresh:
            return fresh[0]
        assert time.monotonic() < deadline, "no call reached the appliance"
        await asyncio.sleep(0.05)


async def finished(runtime: Runtime, session: CallSession, within_s: float = 30) -> None:
    """Until the call is over and its record written (the record is written after the call leaves the line)."""

    def written() -> bool:
        try:
            return runtime.calls.get(session.call.id).status == "ended"
        except NotFoundError:
            return False

    await until(written, within_s, "the call's record is final")


async def greeted(session: CallSession) -> None:
    await until(lambda: len(session.turns.turns) >= 1 and session.playout.buffered_seconds == 0, 60, "greeted")
    await asyncio.sleep(0.5)  # the greeting's last frames reach the caller


@asynccontextmanager
async def caller_on_line(
    runtime: Runtime, trunk: Trunk, folder: Path, number: str
) -> AsyncIterator[tuple[Baresip, CallSession]]:
    """A baresip caller, silent until told to play something, connected to ``number`` and greeted."""
    silence = wav_for_line(np.zeros(0, np.int16), 8000, folder / "silence.wav", after_s=120)
    caller = Baresip(folder / "caller", user="caller", domain=trunk.address, source=silence)
    caller.start()
    try:
        known = live_ids(runtime)
        caller.dial(trunk.uri(number))
        await caller.event("CALL_ESTABLISHED", 15)
        session = await live_session(runtime, known)
        await greeted(session)
        yield caller, session
    finally:
        caller.stop()


async def caller_clip(runtime: Runtime, text: str, folder: Path) -> Path:
    spoken = await piper_clip(runtime.models.tts(), text, folder)
    return wav_for_line(read_wav(spoken, 16000), 16000, folder / f"{spoken.stem}.line.wav", after_s=90)


async def test_registers_with_the_right_password_and_reports_the_wrong_one(phone: SipService) -> None:
    main, spare = phone.status().trunks
    assert main.state == "registered" and main.code == 200 and main.last_success
    await until(lambda: phone.status().trunks[1].failures >= 2, 20, "the spare trunk has failed twice")
    spare = phone.status().trunks[1]
    assert spare.state == "failing"
    assert spare.code in (401, 403)
    assert spare.hint and "password" in spare.hint
    assert spare.next_retry_s is not None


async def test_unknown_number_is_refused_with_404(phone: SipService, trunk: Trunk, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        run_sipp, refused_scenario(404), service=UNOWNED_DID, target=trunk.address, folder=tmp_path, timeout_s=30
    )
    assert result.ok, result.output
    assert phone.status().state == "running"


async def test_caller_is_heard_and_answered(loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path) -> None:
    question = await caller_clip(loaded, "Hello, how much is a wellness exam for my dog?", tmp_path)
    async with caller_on_line(loaded, trunk, tmp_path, TORONTO_DID) as (caller, session):
        caller.play(question)
        await until(lambda: len(session.turns.turns) >= 2, 120, "the assistant answered")
        await until(lambda: session.playout.buffered_seconds == 0, 60, "the answer was played")
        await asyncio.sleep(1.0)
        caller.hangup()
        await caller.event("CALL_CLOSED", 10)
        await finished(loaded, session, 10)
    turns = loaded.calls.turns(session.call.id)
    assert "wellness" in (turns[1].caller or "").lower(), turns[1].caller
    assert turns[1].reply
    record = loaded.calls.get(session.call.id)
    sip = record.meta["sip"]
    assert record.channel == "sip" and record.tenant_id == "maple-vet" and record.callee == TORONTO_DID
    assert sip["codec"] == "PCMU/8000" and sip["call_id"] and "caller" in sip["from"]
    assert sip["hangup_by"] == "caller" and sip["hangup_cause"].startswith("200")
    assert record.end_reason == "the caller hung up" and record.duration_s and record.duration_s > 3
    heard, rate = caller.received()
    spans = speech(heard, rate)
    assert len(spans) >= 2, spans  # the greeting, then the answer
    greeting = spans[0]
    assert greeting[1] - greeting[0] > 2.0
    # The answer may pause between sentences: all the speech after the greeting counts.
    assert sum(end - start for start, end in spans[1:]) > 1.0, spans
    # The tenant records its calls: the caller on the left, the assistant on the right.
    left, right = await asyncio.to_thread(_recorded, phone.recordings / record.meta["recording"])
    assert len(left) == 1 and left[0][1] - left[0][0] > 1.5, left  # the question
    assert len(right) >= 2, right  # the greeting and the answer
    assert left[0][0] > right[0][1]  # asked after the greeting


def _recorded(path: Path) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    pcm, rate = soundfile.read(str(path), dtype="int16")
    assert pcm.ndim == 2 and pcm.shape[1] == 2 and rate == 8000
    return speech(pcm[:, 0], rate), speech(pcm[:, 1], rate)


async def _transferred(runtime: Runtime, trunk: Trunk, folder: Path, act: object) -> tuple[CallSession, Baresip]:
    tone = wav_for_line(np.zeros(0, np.int16), 8000, folder / "human.wav", after_s=60)
    human = Baresip(
        folder / "human",
        user="frontdesk",
        domain=trunk.address,
        source=tone,
        auto_answer=True,
        sip_port=trunk.human_port,
    )
    human.start()
    try:
        async with caller_on_line(runtime, trunk, folder, TORONTO_DID) as (caller, session):
            assert callable(act)
            act(caller)
            await human.event("CALL_ESTABLISHED", 120)
            await finished(runtime, session, 30)
            human.hangup()
    finally:
        human.stop()
    return session, human


async def test_a_wideband_caller_is_answered_in_g722(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    silence = wav_for_line(np.zeros(0, np.int16), 16000, tmp_path / "silence.wav", after_s=60, line_rate=16000)
    caller = Baresip(tmp_path / "caller", user="caller", domain=trunk.address, source=silence, codecs="G722/16000/1")
    caller.start()
    try:
        known = live_ids(loaded)
        caller.dial(trunk.uri(BERLIN_DID))
        await caller.event("CALL_ESTABLISHED", 15)
        session = await live_session(loaded, known)
        await greeted(session)
        caller.hangup()
        await finished(loaded, session)
    finally:
        caller.stop()
    assert loaded.calls.get(session.call.id).meta["sip"]["codec"] == "G722/16000"
    heard, rate = caller.received()
    assert rate == 16000 and speech(heard, rate)[0][1] - speech(heard, rate)[0][0] > 2.0  # the greeting


async def test_pressing_zero_transfers_to_the_front_desk(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    session, human = await _transferred(loaded, trunk, tmp_path, lambda caller: caller.press("0"))
    answered = human.wait("CALL_ESTABLISHED", 1)
    assert "caller" in answered["peeruri"]  # the caller themself, not the appliance, now talks to the desk
    record = loaded.calls.get(session.call.id)
    transfer = record.meta["sip"]["transfer"]
    assert transfer["target"] == f"sip:{HUMAN_NUMBER}@{trunk.address}"
    assert transfer["result"] == "completed" and transfer["status"].startswith("200")
    assert record.outcome == "transferred" and record.meta["sip"]["hangup_by"] == "transfer"
    turns = loaded.calls.turns(session.call.id)
    assert turns[-1].caller == "[pressed 0]" and "putting you through" in turns[-1].reply


async def test_asking_for_a_person_transfers_to_the_front_desk(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    ask = await caller_clip(loaded, "Can I speak to a real person at the front desk, please?", tmp_path)
    session, _ = await _transferred(loaded, trunk, tmp_path, lambda caller: caller.play(ask))
    record = loaded.calls.get(session.call.id)
    assert record.meta["sip"]["transfer"]["result"] == "completed"
    turns = loaded.calls.turns(session.call.id)
    assert turns[-1].intent == "person" and "person" in (turns[-1].caller or "").lower()


async def sipp(scenario: str, number: str, target: str, folder: Path, timeout_s: float = 120) -> SippResult:
    return await asyncio.to_thread(
        run_sipp, scenario, service=number, target=target, folder=folder, timeout_s=timeout_s, name=number.strip("+")
    )


async def test_keys_sent_as_sip_info_reach_the_call_and_a_refused_transfer_is_survived(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    known = live_ids(loaded)
    scenario = call_scenario(dtmf=[Dtmf(500, "0", "info")], refuse_refer=True, hold_ms=20000)
    call = asyncio.ensure_future(sipp(scenario, TORONTO_DID, trunk.address, tmp_path, timeout_s=180))
    session = await live_session(loaded, known)
    result = await call
    assert result.ok, result.output
    await finished(loaded, session, 20)
    record = loaded.calls.get(session.call.id)
    assert record.meta["sip"]["transfer"]["result"] == "failed"
    assert record.meta["sip"]["transfer"]["status"].startswith("405")
    assert record.outcome != "transferred"
    turns = loaded.calls.turns(session.call.id)
    assert turns[1].caller == "[pressed 0]"
    assert any("couldn't put you through" in t.reply for t in turns[2:]), [t.reply for t in turns]


async def test_two_numbers_reach_two_different_businesses(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    greetings = {}
    for number in (TORONTO_DID, BERLIN_DID):  # Berlin's number arrives in the To header only
        known = live_ids(loaded)
        call = asyncio.ensure_future(sipp(call_scenario(hold_ms=9000), number, trunk.address, tmp_path / number))
        session = await live_session(loaded, known)
        assert (await call).ok
        await finished(loaded, session)
        record = loaded.calls.get(session.call.id)
        greetings[record.tenant_id] = loaded.calls.turns(record.id)[0].reply
        assert record.callee == number and record.meta["sip"]["did"] == number
    assert set(greetings) == {"maple-vet", "kiez-rad"}
    assert "Kiezrad" in greetings["kiez-rad"] and "Maple Grove" in greetings["maple-vet"]


async def test_over_the_limit_callers_hear_busy_or_a_message(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    """The box takes two calls; a third to the bike shop gets 486, callers to the vet are told the lines are busy,
    and once PJSIP's four call slots are all taken the next caller gets PJSIP's own 486. All are listed."""
    assert phone.status().max_calls == 2
    holding = [
        asyncio.ensure_future(sipp(call_scenario(hold_ms=60000), BERLIN_DID, trunk.address, tmp_path / f"hold{i}"))
        for i in range(2)
    ]
    await until(lambda: phone.status().active_calls == 2, 20, "two calls are up")
    refused = await sipp(refused_scenario(486), BERLIN_DID, trunk.address, tmp_path / "refused", timeout_s=30)
    assert refused.ok, refused.output
    told = [
        asyncio.ensure_future(
            sipp(call_scenario(hold_ms=40000, far_end_hangs_up=True), TORONTO_DID, trunk.address, tmp_path / f"t{i}")
        )
        for i in range(2)
    ]
    await until(lambda: phone.status().lines == 4, 30, "four lines are in use")
    no_slot = await sipp(refused_scenario(486), TORONTO_DID, trunk.address, tmp_path / "no-slot", timeout_s=30)
    assert no_slot.ok, no_slot.output
    for call in told:
        result = await call
        assert result.ok, result.output  # answered, and the appliance hung up after its message
    for call in holding:
        assert (await call).ok
    missed = loaded.store.dicts(
        "SELECT tenant_id, end_reason, meta FROM calls WHERE outcome = 'busy' ORDER BY started_at"
    )[-4:]
    assert [m["tenant_id"] for m in missed] == ["kiez-rad", "maple-vet", "maple-vet", "maple-vet"]
    assert "refused with 486" in missed[0]["end_reason"]
    assert sorted(m["end_reason"] for m in missed[1:]) == [
        "all lines were busy (refused with 486: no call slot left)",
        "all lines were busy (told so)",
        "all lines were busy (told so)",
    ]


async def test_malformed_sip_does_not_take_the_appliance_down(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    broken = [
        # No Via, no Call-ID, a Content-Length longer than the body.
        "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0\nFrom: <sip:x@[local_ip]>;tag=1\n"
        "To: <sip:[service]@[remote_ip]>\nCSeq: 1 INVITE\nContent-Length: 900\n\nv=0",
        # A well-formed INVITE carrying an SDP that offers nothing usable.
        "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n"
        "Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch]\nFrom: <sip:x@[local_ip]>;tag=2\n"
        "To: <sip:[service]@[remote_ip]>\nCall-ID: broken-sdp-[call_id]\nCSeq: 1 INVITE\n"
        "Contact: <sip:x@[local_ip]:[local_port]>\nMax-Forwards: 70\nContent-Type: application/sdp\n"
        "Content-Length: [len]\n\nv=0\nm=audio notaport RTP/AVP 96\nc=IN IP4 999.1.1.1",
        # Garbage in the request line and a header with no colon.
        "INVITE \x01\x02 SIP/9.9\nVia SIP/2.0/UDP nowhere\n\n",
        # CSeq method that does not match, and a negative Max-Forwards.
        "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n"
        "Via: SIP/2.0/UDP [local_ip]:[local_port];branch=[branch]\nFrom: <sip:x@[local_ip]>;tag=3\n"
        "To: <sip:[service]@[remote_ip]>\nCall-ID: mismatch-[call_id]\nCSeq: 1 BYE\nMax-Forwards: -4\n"
        "Content-Length: 0\n",
    ]
    result = await sipp(raw_scenario(broken), TORONTO_DID, phone.status().listen or "", tmp_path / "broken")
    assert result.returncode in (0, 1), result.output  # sipp itself did its part; replies are not expected
    await asyncio.sleep(2)
    assert phone.status().state == "running"
    assert not loaded.live.sessions()  # nothing half-answered is left behind
    known = live_ids(loaded)
    call = asyncio.ensure_future(sipp(call_scenario(hold_ms=4000), TORONTO_DID, trunk.address, tmp_path / "after"))
    await live_session(loaded, known)
    assert (await call).ok


async def test_re_registers_after_the_trunk_restarts(
    loaded: Runtime, phone: SipService, trunk: Trunk, tmp_path: Path
) -> None:
    trunk.kamailio.stop()
    stopped = time.time()
    trunk.kamailio.start()  # it has forgotten every registration
    # last_success is in whole seconds: only a second that began after the old kamailio was gone proves a
    # registration with the new one (a refresh just before the stop may share the stop's second).
    after = math.floor(stopped) + 1

    def registered_again() -> bool:
        last = phone.status().trunks[0].last_success
        return last is not None and datetime.fromisoformat(last.rstrip("Z")).replace(tzinfo=UTC).timestamp() >= after

    await until(registered_again, 60, "the trunk registered again")
    known = live_ids(loaded)
    call = asyncio.ensure_future(sipp(call_scenario(hold_ms=3000), TORONTO_DID, trunk.address, tmp_path))
    await live_session(loaded, known)
    assert (await call).ok
