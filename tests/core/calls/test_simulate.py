"""A call simulated end to end through the same CallSession that phone calls use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from appliance.runtime import Runtime
from appliance.settings import load_settings
from core.audio import read_wav
from core.calls.simulate import CallerTurn, simulate_call
from core.store.calls import CallRepository
from core.store.database import Store
from testkit.sounds import espeak_clip, piper_clip, with_silence
from tests.conftest import EXAMPLE_TENANT, cli_env


async def test_audio_and_text_turns_are_answered_and_stored(loaded: Runtime, sounds: Path) -> None:
    spoken_clip = await piper_clip(loaded.models.tts(), "Do you work on Saturdays?", sounds)
    clip = with_silence(spoken_clip, sounds / "sat.wav", 0.5, 0.2)
    session = loaded.new_call("example", channel="simulated", caller="test", callee=None, rate=8000)
    await loaded.warm_tenant("example")
    result = await simulate_call(
        session, [CallerTurn(audio=read_wav(clip, 8000)), CallerTurn(text="Thanks, goodbye.")], realtime=False
    )
    greeting, spoken, typed = result.turns
    assert greeting.source == "greeting" and "AI assistant" in greeting.reply
    assert spoken.source == "audio" and "saturday" in (spoken.caller or "").lower()
    assert spoken.reply and typed.reply
    lat = spoken.latency_ms
    # A finished question: the turn model ends it after its 300 ms pause (and its decision), before the 500 ms
    # silence window would have.
    assert lat.endpoint is not None and 300 <= lat.endpoint <= 450
    assert lat.stt and lat.llm_first_token and lat.tts_first_audio and lat.voice_to_voice
    # Voice to voice includes the endpoint's wait and everything after it.
    assert lat.voice_to_voice >= lat.endpoint
    assert typed.latency_ms.endpoint is None and typed.latency_ms.voice_to_voice
    assert len(result.reply_audio) / 8000 > 3.0
    stored = loaded.calls.turns(result.call.id)
    assert [t.caller for t in stored] == [t.caller for t in result.turns]
    assert loaded.calls.get(result.call.id).status == "ended"


async def test_realtime_pacing_reports_comparable_latency(loaded: Runtime, sounds: Path) -> None:
    spoken = await piper_clip(loaded.models.tts(), "What are your opening hours?", sounds)
    clip = read_wav(with_silence(spoken, sounds / "hours.wav", 0.3, 0.0), 8000)
    figures = {}
    for realtime in (False, True):
        session = loaded.new_call("example", channel="simulated", caller="test", callee=None, rate=8000)
        result = await simulate_call(session, [CallerTurn(audio=clip)], realtime=realtime)
        figures[realtime] = result.turns[1].latency_ms
    for lat in figures.values():
        assert lat.endpoint is not None and 300 <= lat.endpoint <= 450  # ended by the turn model, as above
    fast, real = figures[False].voice_to_voice, figures[True].voice_to_voice
    assert fast is not None and real is not None
    assert 0.5 < fast / real < 2.0


def test_cli_simulate_prints_json_writes_audio_and_stores_the_call(
    tmp_path: Path, models_dir: Path, sounds: Path
) -> None:
    env = cli_env(tmp_path / "data", models_dir)
    appliance = [sys.executable, "-m", "appliance"]
    subprocess.run([*appliance, "tenant", "create", "--from", str(EXAMPLE_TENANT)], env=env, check=True)
    clip = espeak_clip("Hello, how much is a call out?", sounds)
    out = tmp_path / "reply.wav"
    done = subprocess.run(
        [
            *appliance,
            "call",
            "simulate",
            "--tenant",
            "example",
            "--audio",
            str(clip),
            "--say",
            "OK thanks, bye.",
            "--out",
            str(out),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"call_id", "tenant", "turns", "outcome", "outcomes"}
    assert report["tenant"] == "example"
    caller_turns = [t for t in report["turns"] if t["caller"] is not None]
    assert len(caller_turns) == 2 and caller_turns[1]["caller"] == "OK thanks, bye."
    # filler_audio: a "one moment" before a slow tool, reported beside voice_to_voice, never instead of it.
    assert set(caller_turns[0]["latency_ms"]) - {"filler_audio"} == {
        "endpoint",
        "stt",
        "llm_first_token",
        "tts_first_audio",
        "voice_to_voice",
    }
    assert all(set(t) >= {"caller", "reply", "tool_calls", "latency_ms"} for t in report["turns"])
    assert len(read_wav(out, 8000)) / 8000 > 3.0
    store = Store.open(load_settings(None, env).store_path)
    assert len(CallRepository(store).turns(report["call_id"])) == 3
    store.close()


async def test_transfer_key_hands_the_call_over_after_the_handover_line(loaded: Runtime) -> None:
    session = loaded.new_call("lakeside-dental", channel="simulated", caller="test", callee=None, rate=8000)
    result = await simulate_call(
        session, [CallerTurn(dtmf="5"), CallerTurn(dtmf="0"), CallerTurn(text="Are you still there?")], realtime=False
    )
    assert result.call.outcome == "transferred"
    assert result.call.meta["transfer_target"] == "sip:frontdesk@127.0.0.1:5090"
    # The unassigned key did nothing; the handover line was spoken; the turn after the transfer never happened.
    assert [t.caller for t in result.turns] == [None, "[pressed 0]"]
    assert "putting you through" in result.turns[1].reply


async def test_goodbye_ends_the_call_from_our_side(loaded: Runtime) -> None:
    session = loaded.new_call("example", channel="simulated", caller="test", callee=None, rate=8000)
    result = await simulate_call(
        session, [CallerTurn(text="That's all, thanks. Goodbye!"), CallerTurn(text="One more thing")], realtime=False
    )
    assert session.leaving is not None and type(session.leaving).__name__ == "HangupRequested"
    assert len(result.turns) == 2
