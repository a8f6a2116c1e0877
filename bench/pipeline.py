"""Per-stage figures of the call loop, and voice-to-voice latency over simulated calls.

    .venv/bin/python -m bench.pipeline [--runs 5] [--calls 3] [--first-calls 6] [--realtime]
                                       [--llm qwen2.5-coder-0.5b] [--no-serve]

Prints a table and writes bench/results/pipeline.json. Each figure is the median of ``--runs`` runs (the voice-to-
voice figures pool every turn of ``--calls`` calls of 5 turns and ``--first-calls`` calls of one, and report the
first turn of every call apart from later ones). The caller's turns are spoken by Piper and passed through a phone
line's 8 kHz mu-law, like the tests' clips. With ``--realtime`` the line runs at wall-clock speed and the greeting
plays before the caller speaks, as on a phone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from appliance import logs
from appliance.runtime import Runtime
from bench.common import (
    APPLIANCE,
    EXAMPLE_TENANT,
    MODELS,
    appliance_env,
    bench_runtime,
    percentile,
    save_results,
    wait_healthy,
)
from core.audio import read_wav, to_float
from core.calls.simulate import CallerTurn, simulate_call
from core.dialogue.conversation import opening
from core.dialogue.plan import plan_schema
from models.interfaces import ChatMessage
from testkit.ports import free_port
from testkit.sounds import piper_clip, with_silence

CALLER_TURNS = [
    "Hi, how much is a call-out on a weekday?",
    "Do you cover Thornbury?",
    "Are all your plumbers licensed?",
    "Can I pay by card when you're done?",
    "Great, thanks for your help. Bye.",
]
# First turns of calls of their own: most calls are one question, so the first answer is the one that matters most.
FIRST_TURNS = [
    "Hi, my kitchen tap has been dripping all week. Can someone come out on Tuesday morning?",
    "Do you do emergency call-outs on a Sunday?",
    "How much is it to replace a hot water system?",
    "Hello, I'd like to book someone to look at a blocked drain.",
    "Are you open tomorrow?",
    "Can I speak to the plumber who came last week?",
]
UTTERANCE_3S = "Hello, could someone come and look at my hot water system tomorrow?"


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


async def bench_models(runtime: Runtime, runs: int, sounds: Path) -> dict[str, Any]:
    models = runtime.models
    vad, stt, llm, tts = models.vad(), models.stt(), models.llm(), models.tts()
    out: dict[str, Any] = {}

    frames = np.random.default_rng(1).normal(0, 0.05, (1000, vad.frame_samples)).astype(np.float32)
    per_frame = []
    for _ in range(runs):
        stream = vad.stream()
        started = time.perf_counter()
        for frame in frames:
            stream.probability(frame)
        per_frame.append((time.perf_counter() - started) / len(frames) * 1000)
    out["vad_ms_per_frame"] = round(statistics.median(per_frame), 3)

    clip = to_float(read_wav(await piper_clip(tts, UTTERANCE_3S, sounds), 16000))
    stt_ms = []
    for _ in range(runs):
        started = time.perf_counter()
        await stt.transcribe(clip)
        stt_ms.append((time.perf_counter() - started) * 1000)
    out["stt_clip_seconds"] = round(len(clip) / 16000, 2)
    out["stt_latency_ms"] = median(stt_ms)
    out["stt_rtf"] = round(statistics.median(stt_ms) / 1000 / (len(clip) / 16000), 3)

    tenant = runtime.tenants.get("example")
    base = opening(tenant)
    schema = plan_schema(tenant)
    cold, warm, rates = [], [], []
    for i in range(runs):
        # A fresh nonce at the very start of the system prompt: nothing can be reused.
        fresh = [ChatMessage("system", f"[{secrets.token_hex(4)}]\n" + base[0].content), base[1]]
        question = ChatMessage("user", CALLER_TURNS[i % len(CALLER_TURNS)])
        cold.append((await first_token(llm, [*fresh, question], schema))[0])
        await llm.prefill(base)
        first, rate = await first_token(llm, [*base, question], schema)
        warm.append(first)
        rates.append(rate)
    out["llm_prompt_tokens"] = llm.count_tokens(base[0].content)
    out["llm_first_token_cold_ms"] = median(cold)
    out["llm_first_token_cached_ms"] = median(warm)
    out["llm_tokens_per_s"] = round(statistics.median(rates), 1)

    sentence = "Our call-out fee is ninety five dollars on weekdays, and it's waived if you go ahead with the job."
    first_audio, rtf = [], []
    for _ in range(runs):
        started = time.perf_counter()
        first = None
        samples = 0
        async for pcm in tts.stream(sentence):
            first = first or time.perf_counter() - started
            samples += len(pcm)
        total = time.perf_counter() - started
        first_audio.append((first or total) * 1000)
        rtf.append(total / (samples / tts.sample_rate))
    out["tts_first_audio_ms"] = median(first_audio)
    out["tts_rtf"] = round(statistics.median(rtf), 3)
    return out


async def first_token(llm: Any, messages: list[ChatMessage], schema: dict[str, Any]) -> tuple[float, float]:
    """Milliseconds to the first piece of output, and pieces per second after it."""
    started = time.perf_counter()
    first, count = None, 0
    async for _ in llm.stream_json(messages, schema, 120):
        first = first or time.perf_counter()
        count += 1
    end = time.perf_counter()
    assert first is not None
    return (first - started) * 1000, (count - 1) / max(end - first, 1e-6)


async def _turns(tts: Any, texts: list[str], sounds: Path, name: str) -> list[CallerTurn]:
    turns = []
    for i, text in enumerate(texts):
        clip = with_silence(await piper_clip(tts, text, sounds), sounds / f"{name}{i}.wav", 0.4, 0.0)
        turns.append(CallerTurn(audio=read_wav(clip, 8000)))
    return turns


def _figures(kind: str, values: list[float]) -> dict[str, Any]:
    return {
        f"voice_to_voice_{kind}_turns": len(values),
        f"voice_to_voice_{kind}_p50_ms": median(values),
        f"voice_to_voice_{kind}_p95_ms": percentile(values, 0.95),
    }


async def bench_calls(runtime: Runtime, calls: int, first_calls: int, sounds: Path, realtime: bool) -> dict[str, Any]:
    """``calls`` calls of five spoken turns, then ``first_calls`` calls of one; with ``realtime`` the line is
    paced at wall-clock speed and the greeting plays before the caller speaks. First turns (of every call) and
    later turns are reported apart."""
    tts = runtime.models.tts()
    turns = await _turns(tts, CALLER_TURNS, sounds, "turn")
    firsts = await _turns(tts, FIRST_TURNS, sounds, "first")
    await runtime.warm_tenant("example")
    v2v: dict[str, list[float]] = {"first": [], "later": []}
    parts: dict[str, list[float]] = {"endpoint": [], "stt": [], "llm_first_token": [], "tts_first_audio": []}
    transcripts = []
    scripts = [turns] * calls + [[firsts[i % len(firsts)]] for i in range(first_calls)]
    for script in scripts:
        session = runtime.new_call("example", channel="simulated", caller="bench", callee=None, rate=8000)
        result = await simulate_call(session, script, realtime=realtime)
        spoken = [t for t in result.turns if t.source == "audio" and t.latency_ms.voice_to_voice is not None]
        for i, turn in enumerate(spoken):
            assert turn.latency_ms.voice_to_voice is not None
            v2v["first" if i == 0 else "later"].append(turn.latency_ms.voice_to_voice)
            for key, values in parts.items():
                value = getattr(turn.latency_ms, key)
                if value is not None:
                    values.append(value)
            transcripts.append(turn.caller)
    every = v2v["first"] + v2v["later"]
    return {
        "realtime": realtime,
        "voice_to_voice_turns": len(every),
        "voice_to_voice_p50_ms": median(every),
        "voice_to_voice_p95_ms": percentile(every, 0.95),
        **{key: value for kind, values in v2v.items() if values for key, value in _figures(kind, values).items()},
        **{f"{key}_p50_ms": median(values) for key, values in parts.items() if values},
        "transcripts": transcripts[: len(CALLER_TURNS)],
    }


def bench_serve_memory(data: Path) -> dict[str, Any]:
    port = free_port(socket.SOCK_STREAM)
    env = appliance_env()
    env.update(APPLIANCE_DATA_DIR=str(data), APPLIANCE_MODELS__DIR=str(MODELS), APPLIANCE_SERVER__PORT=str(port))
    subprocess.run([*APPLIANCE, "tenant", "create", "--from", str(EXAMPLE_TENANT), "--if-missing"], env=env, check=True)
    started = time.perf_counter()
    proc = subprocess.Popen([*APPLIANCE, "serve"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, proc, 300)
        ready = time.perf_counter() - started
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print("appliance serve did not stop within 30 s of SIGTERM; killed", file=sys.stderr)
            proc.kill()
            proc.wait()
    return {"serve_ready_s": round(ready, 1), "serve_peak_rss_mb": round(peak_kb / 1024)}


def table(results: dict[str, Any]) -> str:
    rows = [
        ("VAD, per 32 ms frame", f"{results['vad_ms_per_frame']} ms", ""),
        (
            f"STT, {results['stt_clip_seconds']} s utterance",
            f"{results['stt_latency_ms']:.0f} ms",
            f"RTF {results['stt_rtf']}",
        ),
        (
            f"LLM first token, cold ({results['llm_prompt_tokens']}-token system prompt)",
            f"{results['llm_first_token_cold_ms']:.0f} ms",
            "",
        ),
        ("LLM first token, cached prefix", f"{results['llm_first_token_cached_ms']:.0f} ms", "target ≤ 300 ms"),
        ("LLM generation", f"{results['llm_tokens_per_s']} tokens/s", "grammar-constrained"),
        ("TTS first audio", f"{results['tts_first_audio_ms']:.0f} ms", f"RTF {results['tts_rtf']}"),
        (
            f"voice-to-voice, {results['voice_to_voice_turns']} turns",
            f"p50 {results['voice_to_voice_p50_ms']:.0f} ms",
            f"p95 {results['voice_to_voice_p95_ms']:.0f} ms; target p50 ≤ 1,500 ms",
        ),
        *(
            (
                f"  {kind} turns ({results[f'voice_to_voice_{kind}_turns']})",
                f"p50 {results[f'voice_to_voice_{kind}_p50_ms']:.0f} ms",
                f"p95 {results[f'voice_to_voice_{kind}_p95_ms']:.0f} ms",
            )
            for kind in ("first", "later")
            if f"voice_to_voice_{kind}_turns" in results
        ),
        (
            "  of which (p50)",
            f"endpoint {results.get('endpoint_p50_ms', 0):.0f} · stt {results.get('stt_p50_ms', 0):.0f}",
            f"llm {results.get('llm_first_token_p50_ms', 0):.0f} · "
            f"tts {results.get('tts_first_audio_p50_ms', 0):.0f} ms",
        ),
    ]
    if "serve_peak_rss_mb" in results:
        rows.append(
            (
                "appliance serve, all models loaded",
                f"peak RSS {results['serve_peak_rss_mb']} MB",
                f"ready in {results['serve_ready_s']} s; target ≤ 3 GB",
            )
        )
    width = max(len(r[0]) for r in rows)
    lines = [f"| {'stage':<{width}} | median | notes |", f"|{'-' * (width + 2)}|---|---|"]
    lines += [f"| {a:<{width}} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3, help="calls of five spoken turns")
    parser.add_argument("--first-calls", type=int, default=6, help="calls of one spoken turn")
    parser.add_argument("--realtime", action="store_true", help="pace the line in real time; the greeting plays")
    parser.add_argument("--llm", default="qwen2.5-coder-0.5b")
    parser.add_argument("--no-serve", action="store_true", help="skip the memory figure of appliance serve")
    args = parser.parse_args()
    logs.configure("warning", None)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        sounds = data / "sounds"
        sounds.mkdir()
        # Settings to compare (APPLIANCE_MODELS__STT_WINDOW_S=30, say) come from the environment.
        env = {k: v for k, v in os.environ.items() if k.startswith("APPLIANCE_")}
        results: dict[str, Any] = {"llm": args.llm, "runs": args.runs, "cpu_count": os.cpu_count()}
        async with bench_runtime(args.llm, [EXAMPLE_TENANT], data_dir=data / "bench", env=env) as runtime:
            results.update(await bench_models(runtime, args.runs, sounds))
            results.update(await bench_calls(runtime, args.calls, args.first_calls, sounds, args.realtime))
        if not args.no_serve:
            results.update(bench_serve_memory(data / "serve"))
    print(table(results))
    save_results("pipeline", results)


if __name__ == "__main__":
    asyncio.run(main())
