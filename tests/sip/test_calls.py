"""Calls from real SIP peers through kamailio to the appliance's SIP service."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np

from appliance.audio import read_wav
from appliance.runtime import Runtime
from sip.service import SipService
from tests.peers.baresip import Baresip, wav_for_line
from tests.peers.sipp import call_scenario, refused_scenario, run_sipp
from tests.sip.conftest import Trunk, until
from tests.sip.tenants import TORONTO_DID, UNOWNED_DID
from tests.sounds import piper_clip


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
    spoken = await piper_clip(loaded.models.tts(), "Hello, how much is a wellness exam for my dog?", tmp_path)
    silence = wav_for_line(np.zeros(0, np.int16), 8000, tmp_path / "silence.wav", after_s=120)
    question = wav_for_line(read_wav(spoken, 16000), 16000, tmp_path / "question.wav", after_s=90)
    caller = Baresip(tmp_path / "caller", user="caller", domain=trunk.address, source=silence)
    caller.start()
    try:
        caller.dial(trunk.uri(TORONTO_DID))
        await caller.event("CALL_ESTABLISHED", 15)
        session = await _live_session(loaded)
        # The greeting first: the caller speaks once it has been heard.
        await until(lambda: len(session.turns.turns) >= 1 and session.playout.buffered_seconds == 0, 60, "greeted")
        await asyncio.sleep(0.5)
        caller.play(question)
        await until(lambda: len(session.turns.turns) >= 2, 120, "the assistant answered")
        await until(lambda: session.playout.buffered_seconds == 0, 60, "the answer was played")
        await asyncio.sleep(1.0)
        caller.hangup()
        await caller.event("CALL_CLOSED", 10)
        call_id = session.call.id
        await until(lambda: call_id not in loaded.live, 10, "the call ended")
    finally:
        caller.stop()
    turns = loaded.calls.turns(call_id)
    assert "wellness" in (turns[1].caller or "").lower(), turns[1].caller
    assert turns[1].reply
    record = loaded.calls.get(call_id)
    sip = record.meta["sip"]
    assert record.channel == "sip" and record.tenant_id == "maple-vet" and record.callee == TORONTO_DID
    assert sip["codec"] == "PCMU/8000" and sip["call_id"] and "caller" in sip["from"]
    assert sip["hangup_by"] == "caller" and sip["hangup_cause"].startswith("200")
    assert record.end_reason == "the caller hung up" and record.duration_s and record.duration_s > 3
    heard, rate = caller.received()
    spans = speech(heard, rate)
    assert len(spans) >= 2, spans  # the greeting, then the answer
    greeting, answer = spans[0], spans[-1]
    assert greeting[1] - greeting[0] > 2.0
    assert answer[1] - answer[0] > 1.0
    assert answer[0] > greeting[1]


async def _live_session(runtime: Runtime):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while not runtime.live:
        assert time.monotonic() < deadline, "no call reached the appliance"
        await asyncio.sleep(0.05)
    return next(iter(runtime.live.values()))
