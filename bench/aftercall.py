"""Post-call analysis: how long it takes per call, whether outcomes and summaries hold, and whether a call in
progress ever waits for it.

    .venv/bin/python -m bench.aftercall [--rounds 2]

Each round places the scripted calls of bench/data/aftercall.toml (typed caller turns, three businesses) three
times: with no analysis running, again the same way (how much a turn varies anyway), and with every call the box
has taken waiting to be analysed and the queue running as on a serving box (it starts the moment no call is in
progress and stops when one starts). The time from each
typed turn to its first reply audio is compared between the two, turn by turn (the calendar is emptied before
each placing, so each script goes the same way). Between rounds, every call is analysed with no call
in progress, timed, and checked: its outcomes against the script's, and its summary's names, numbers and times
against its transcript. ``--spoken``: the caller turns are spoken by Piper (8 kHz, through VAD, the turn model and
STT) and the figure is voice to voice. Prints a table and writes bench/results/aftercall[-spoken].json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import tomllib
from pathlib import Path

import msgspec

from appliance.runtime import Runtime
from bench.common import DENTIST, PLUMBER, SALON, TENANT_FILES, bench_runtime, percentile, save_results
from core.aftercall.analysis import analyse, transcript, untraceable
from core.aftercall.worker import AnalysisWorker
from core.audio import read_wav
from core.calls.simulate import CallerTurn, simulate_call
from testkit.sounds import piper_clip, with_silence

DATA = Path(__file__).parent / "data" / "aftercall.toml"


class Script(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    tenant: str
    caller: str
    said: list[str]
    outcomes: list[str]


def scripted_calls() -> list[Script]:
    return msgspec.convert(tomllib.loads(DATA.read_text())["call"], list[Script])


async def _turns(runtime: Runtime, script: Script, spoken: Path | None) -> list[CallerTurn]:
    """The script's caller turns: typed, or spoken by Piper with half a second of silence around each."""
    if spoken is None:
        return [CallerTurn(text=line) for line in script.said]
    turns = []
    for line in script.said:
        clip = await piper_clip(runtime.models.tts(), line, spoken)
        padded = with_silence(clip, clip.with_suffix(".padded.wav"), 0.5, 0.5)
        turns.append(CallerTurn(audio=read_wav(padded, 8000)))
    return turns


async def _place(runtime: Runtime, scripts: list[Script], spoken: Path | None) -> tuple[list[str], list[float]]:
    """Each script as a call: the calls' ids, and each caller turn's time to its first reply audio (ms): from
    the caller's last word for a spoken turn (voice to voice), from the moment it is typed for a typed one."""
    ids, waits = [], []
    runtime.store.execute("DELETE FROM bookings")  # each placing books the same times afresh
    for script in scripts:
        session = runtime.new_call(script.tenant, channel="simulated", caller=script.caller, callee=None, rate=8000)
        result = await simulate_call(session, await _turns(runtime, script, spoken), realtime=False)
        ids.append(result.call.id)
        waits += [t.latency_ms.voice_to_voice for t in result.turns[1:] if t.latency_ms.voice_to_voice is not None]
    return ids, waits


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--llm", default="qwen2.5-coder-0.5b")
    parser.add_argument("--spoken", action="store_true", help="Caller turns spoken by Piper, through VAD and STT.")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    spoken = Path(folder.name) if args.spoken else None
    scripts = scripted_calls()
    alone: list[float] = []
    beside: list[float] = []
    seconds: list[float] = []
    wrong_outcomes: list[str] = []
    untraced: list[str] = []
    interrupted = 0
    changes: list[float] = []  # each turn's time with the queue full, less its time without
    control: list[float] = []  # each turn's time placed again without the queue, less its first time
    async with bench_runtime(args.llm, TENANT_FILES, warm=(PLUMBER, DENTIST, SALON)) as runtime:
        for _ in range(args.rounds):
            ids, waits = await _place(runtime, scripts, spoken)
            alone += waits
            for script, call_id in zip(scripts, ids, strict=True):
                call, turns = runtime.calls.get(call_id), runtime.calls.turns(call_id)
                if call.outcomes != script.outcomes:
                    wrong_outcomes.append(f"{script.name}: {call.outcomes} (want {script.outcomes})")
                analysis = await analyse(runtime.models.llm(), call, turns)
                seconds.append(analysis.seconds)
                if missing := untraceable(analysis.summary, transcript(turns)):
                    untraced.append(f"{script.name}: {missing} in {analysis.summary!r}")
            # The same calls again with nothing else running: how much a turn varies between two placings anyway.
            _, again = await _place(runtime, scripts, spoken)
            if len(again) == len(waits):
                control += [b - a for a, b in zip(waits, again, strict=True)]
            # Every call the box has taken waits for its analysis, and the queue runs as when serving.
            runtime.store.execute("UPDATE calls SET analysis_state = 'pending' WHERE status = 'ended'")
            worker = AnalysisWorker(
                runtime.calls, runtime.models.llm, busy=lambda: bool(runtime.live.sessions()), settle_s=0.0
            )
            running = asyncio.create_task(worker.run())
            await asyncio.sleep(1.0)  # an analysis is under way when the first call arrives
            _, waits = await _place(runtime, scripts, spoken)
            if len(waits) == len(alone) - len(beside):  # the same turns: each compared with itself
                changes += [b - a for a, b in zip(alone[len(beside) :], waits, strict=True)]
            beside += waits
            running.cancel()
            interrupted += worker.interrupted
            runtime.store.execute("UPDATE calls SET analysis_state = NULL WHERE analysis_state = 'pending'")
    calls = len(seconds)
    folder.cleanup()
    kind = "spoken (voice to voice)" if args.spoken else "typed"
    print(f"post-call analysis, {calls} calls ({len(scripts)} scripts x {args.rounds} rounds), {kind} turns")
    print(f"  seconds per call, no call in progress: p50 {statistics.median(seconds):.1f}, "
          f"p95 {percentile(seconds, 0.95)}")  # fmt: skip
    print(
        f"  outcomes exact: {calls - len(wrong_outcomes)}/{calls}; summaries traceable: {calls - len(untraced)}/{calls}"
    )
    print("\nturn to first reply audio (ms)     p50      p95   turns")
    for label, values in (("no analysis", alone), ("analysis queue full", beside)):
        print(f"  {label:<30} {percentile(values, 0.5):>7} {percentile(values, 0.95):>8} {len(values):>7}")
    for label, values in (("queue full less none", changes), ("none again less none", control)):
        if values:
            spread = [abs(v) for v in values]
            print(f"  the same turn, {label}: p50 {percentile(values, 0.5):+} ms, p95 {percentile(values, 0.95):+} "
                  f"ms, p50 of the size {percentile(spread, 0.5)} ms ({len(values)} turns)")  # fmt: skip
    print(f"  analyses stopped for a call: {interrupted}")
    for line in wrong_outcomes + untraced:
        print(f"  {line}")
    save_results(
        "aftercall-spoken" if args.spoken else "aftercall",
        {
            "calls": calls,
            "analysis_seconds": seconds,
            "wrong_outcomes": wrong_outcomes,
            "untraced": untraced,
            "turn_to_audio_ms": {"no_analysis": alone, "queue_full": beside, "change": changes, "control": control},
            "interrupted": interrupted,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
