"""Simultaneous phone calls: N callers (sipp, through kamailio) ring the appliance at once, listen to the
greeting, each say the same question, and listen to the answer.

    .venv/bin/python -m bench.sip_calls [--calls 1 2 4 8] [--rounds 3] [--llm qwen2.5-coder-0.5b] [--attack 200]

Everything real: ``appliance serve`` in its own process with a trunk, kamailio as the registrar and proxy, one
sipp per caller streaming a phone-band recording of the question over RTP. The callers' side is measured on the
wire: RTP on the loopback interface is captured (a packet socket, so this needs root) with kernel timestamps.

- INVITE→200 OK: sipp's own response time for the 200 (through kamailio).
- voice to voice: from the last RTP packet carrying the caller's speech to the first RTP packet carrying the
  reply, as the caller's phone sees them.
- lost / late: RTP sequence gaps and packets more than 60 ms after the previous one, caller side;
  underruns: frames the appliance had to fill because its event loop was late (from the call records).
- understood: the caller's words reached the transcript (at least half of them).
- CPU and memory: of the appliance process only, while the calls run.

With ``--attack R`` each call count is run twice: as above, and while a scanner (sipp on 127.0.0.2, an address
that is not the trunk's) sends R INVITEs a second straight at the box for the whole round; its row shows how many
the box refused (403) and what the calls lost.

Prints a table and writes bench/results/sip_calls.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import csv
import itertools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from appliance.settings import load_settings
from bench.common import APPLIANCE, EXAMPLE_TENANT, MODELS, ROOT, appliance_env, percentile, save_results
from core.audio import read_wav, resample
from models.loader import ModelSet
from sip.settings import CALL_SLOTS
from testkit.peers.kamailio import Kamailio
from testkit.peers.sipp import call_scenario, refused_scenario, run_sipp
from testkit.ports import free_media_port, free_port
from testkit.sounds import piper_clip

DID = "+61395550142"  # the example tenant's number
TENANT = "example"
QUESTION = "Hi there, how much is a call-out on a weekday?"
TRUNK_USER, TRUNK_PASSWORD = "bench-box", "bench secret"
SCANNER = "127.0.0.2"  # not the trunk's address: every INVITE from it is refused
GREETING_WAIT_MS = 11000  # callers listen to the greeting before they speak
LISTEN_MS = 40000  # and then listen this long for the answer before hanging up
SPEECH_RMS = 300.0  # a 20 ms frame louder than this carries speech (mu-law decoded, 16-bit scale)
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4


# ----- capturing RTP on the loopback interface


@dataclass
class Packet:
    at: float
    src: int
    dst: int
    seq: int
    payload: bytes


class Capture:
    """UDP packets to or from ``ports`` on lo, with kernel timestamps."""

    def __init__(self, ports: set[int]) -> None:
        self.ports = ports
        self.packets: list[Packet] = []
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
        self._sock.bind(("lo", 0))
        self._sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Capture:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, ancillary, _, address = self._sock.recvmsg(65535, 64)
            except TimeoutError:
                continue
            if address[2] == PACKET_OUTGOING:  # lo shows each packet leaving and arriving: keep one
                continue
            at = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanos = struct.unpack("qq", value[:16])
                    at = seconds + nanos / 1e9
            packet = _rtp(data, at)
            if packet is not None and (packet.src in self.ports or packet.dst in self.ports):
                self.packets.append(packet)


def _rtp(frame: bytes, at: float) -> Packet | None:
    ip = frame[14:]
    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    udp = ip[(ip[0] & 15) * 4 :]
    src, dst = struct.unpack("!HH", udp[:4])
    rtp = udp[8:]
    if len(rtp) < 12 or rtp[0] >> 6 != 2 or rtp[1] & 0x7F != 0:  # RTP version 2, PCMU only
        return None
    header = 12 + 4 * (rtp[0] & 15)
    return Packet(at, src, dst, struct.unpack("!H", rtp[2:4])[0], rtp[header:])


def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign, exponent, mantissa = codes & 0x80, (codes >> 4) & 7, codes & 15
    magnitude = ((mantissa << 3) + 0x84) << exponent
    return np.where(sign, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


ULAW = _ulaw_table()


def loud(packet: Packet) -> bool:
    pcm = ULAW[np.frombuffer(packet.payload, dtype=np.uint8)].astype(np.float64)
    return bool(pcm.size) and float(np.sqrt(np.mean(pcm**2))) > SPEECH_RMS


def ulaw_file(wav: Path, out: Path, *, after_s: float) -> Path:
    pcm = resample(read_wav(wav, 16000), 16000, 8000).astype(np.int32)
    pcm = np.concatenate([pcm, np.zeros(int(after_s * 8000), np.int32)])
    # mu-law encode by searching the decode table: 256 levels, exact for what sipp plays back.
    order = np.argsort(ULAW)
    index = np.clip(np.searchsorted(ULAW[order], pcm), 1, 255)
    nearer = np.where(np.abs(ULAW[order][index - 1] - pcm) <= np.abs(ULAW[order][index] - pcm), index - 1, index)
    out.write_bytes(order[nearer].astype(np.uint8).tobytes())
    return out


# ----- one caller's view of a call


@dataclass
class CallFigures:
    invite_to_200_ms: float | None
    voice_to_voice_ms: float | None
    greeting_overlapped: bool
    lost: int
    late: int
    ok: bool
    note: str = ""
    refused: str = ""  # the final response that turned the caller away (486 Busy Here over the call limit)


def caller_view(packets: list[Packet], port: int, rtt_ms: float | None, sipp_ok: bool) -> CallFigures:
    sent = sorted((p for p in packets if p.src == port), key=lambda p: p.at)
    heard = sorted((p for p in packets if p.dst == port), key=lambda p: p.at)
    spoken = [p for p in sent if loud(p)]
    if not spoken or not heard:
        return CallFigures(rtt_ms, None, False, 0, 0, False, "no RTP seen")
    speech_start, speech_end = spoken[0].at, spoken[-1].at
    answers = [p for p in heard if p.at > speech_end and loud(p)]
    greeting = [p for p in heard if p.at < speech_start and loud(p)]
    overlapped = any(loud(p) for p in heard if speech_start <= p.at <= speech_start + 0.5) and bool(greeting)
    lost = sum(max(0, (b.seq - a.seq) % 65536 - 1) for a, b in itertools.pairwise(heard))
    late = sum(1 for a, b in itertools.pairwise(heard) if b.at - a.at > 0.06)
    v2v = (answers[0].at - speech_end) * 1000 if answers else None
    return CallFigures(rtt_ms, v2v, overlapped, lost, late, sipp_ok and v2v is not None, "" if answers else "no answer")


# ----- the appliance under test


@dataclass
class Appliance:
    folder: Path
    proc: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    sip: str  # host:port the appliance's SIP listens on

    def refused(self) -> int:
        """INVITEs refused so far for where they came from (/healthz)."""
        return int(httpx.get(f"{self.url}/healthz").json()["sip"]["refusals"].get("source", 0))

    def usage(self) -> tuple[float, int]:
        """CPU seconds so far and resident memory in bytes."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu = (int(stat[11]) + int(stat[12])) / ticks
        rss = int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{self.proc.pid}/status").read_text()).group(1))  # type: ignore[union-attr]
        return cpu, rss * 1024

    def calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self._get(f"/api/v1/tenants/{TENANT}/calls", limit=500)["calls"]
        return calls

    def call(self, call_id: str) -> dict[str, Any]:
        """The call's record (``call``, with ``meta``) and its ``turns``."""
        detail: dict[str, Any] = self._get(f"/api/v1/tenants/{TENANT}/calls/{call_id}")
        return detail

    def _get(self, path: str, **params: Any) -> Any:
        token = json.loads((self.folder / "data" / "run" / "server.json").read_text())["token"]
        response = httpx.get(f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.json()


def start_appliance(folder: Path, trunk: Kamailio, llm: str, max_calls: int) -> Appliance:
    port, sip_port = free_port(both=True), free_port(both=True)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "appliance.toml"
    config.write_text(
        f"""data_dir = "data"
[server]
port = {port}
[models]
llm = "{llm}"
[sip]
bind = "127.0.0.1"
port = {sip_port}
rtp_port = 20000
rtp_port_count = 400
max_calls = {max_calls}
calls_per_caller_per_hour = 0  # every caller of the benchmark has the same number
[[sip.trunks]]
name = "bench"
registrar = "{trunk.address}"
username = "{TRUNK_USER}"
password = "{TRUNK_PASSWORD}"
"""
    )
    env = appliance_env()
    env["APPLIANCE_CONFIG"] = str(config)
    env["APPLIANCE_MODELS__DIR"] = str(models_dir())
    subprocess.run([*APPLIANCE, "tenant", "create", "--from", str(EXAMPLE_TENANT)], env=env, check=True, cwd=ROOT)
    with (folder / "serve.log").open("ab") as output:
        proc = subprocess.Popen([*APPLIANCE, "serve"], env=env, cwd=ROOT, stdout=output, stderr=output)
    log = folder / "data" / "logs" / "appliance.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"appliance serve exited; see {log}")
        if log.exists() and '"ready: all models loaded' in log.read_text():
            health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
            if health["sip"]["trunks"][0]["state"] == "registered":
                return Appliance(folder, proc, f"http://127.0.0.1:{port}", env, f"127.0.0.1:{sip_port}")
        time.sleep(1)
    proc.kill()
    raise SystemExit("the appliance did not get ready in 10 minutes")


# ----- a round: N callers at once


@dataclass
class Round:
    calls: int
    figures: list[CallFigures] = field(default_factory=list)
    cpu_percent: float = 0.0
    peak_rss_mb: float = 0.0
    underruns: int = 0
    understood: int = 0
    stages_ms: list[dict[str, float | None]] = field(default_factory=list)  # the appliance's own breakdown
    attack_rate: int = 0  # INVITEs a second a scanner sent during the round
    attack_refused: int = 0  # of them, refused by the box
    attack_sent: int = 0  # new INVITEs the scanner sent
    attack_seconds: float = 0.0


@contextlib.contextmanager
def scanner(rate: int, appliance: Appliance, folder: Path) -> Iterator[None]:
    """sipp from an address that is not the trunk's, sending ``rate`` INVITEs a second at the box until the block
    ends; each must get 403."""
    if not rate:
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scan.xml").write_text(refused_scenario(403, caller="+19005550199"))
    command = ["sipp", "-sf", "scan.xml", "-s", DID, appliance.sip, "-i", SCANNER, "-p", str(free_port())]
    # A call the box does not answer is given up after 2 s, so that sipp's limit on calls in progress does not
    # throttle the scanner (most INVITEs are dropped unanswered by the socket filter).
    command += ["-r", str(rate), "-m", str(rate * 3600), "-l", str(rate * 10), "-recv_timeout", "2000"]
    command += ["-nostdin", "-trace_stat", "-stf", "stat.csv", "-fd", "1"]
    proc = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def scanner_sent(folder: Path) -> tuple[int, float]:
    """New INVITEs the scanner sent and over how many seconds, from sipp's statistics file."""
    rows = list(csv.DictReader((folder / "stat.csv").read_text().splitlines(), delimiter=";"))
    if not rows:
        return 0, 0.0
    hours, minutes, secs = (float(part) for part in rows[-1]["ElapsedTime(C)"].split(":")[:3])  # "HH:MM:SS"
    seconds = hours * 3600 + minutes * 60 + secs
    return int(rows[-1]["OutgoingCall(C)"]), seconds


def run_round(n: int, appliance: Appliance, trunk: Kamailio, audio: Path, folder: Path, attack: int = 0) -> Round:
    ports = [free_media_port() for _ in range(n)]
    scenario = call_scenario(audio=audio, audio_after_ms=GREETING_WAIT_MS, hold_ms=LISTEN_MS)
    known = {c["id"] for c in appliance.calls()}
    result = Round(n, attack_rate=attack)
    peak = 0
    refused_before = appliance.refused()
    cpu_before, _ = appliance.usage()
    started = time.monotonic()
    with scanner(attack, appliance, folder / "scanner"), Capture(set(ports)) as capture, ThreadPoolExecutor(n) as pool:
        runs = [
            pool.submit(
                run_sipp,
                scenario,
                service=DID,
                target=trunk.address,
                folder=folder / f"caller{i}",
                timeout_s=120,
                media_port=ports[i],
            )
            for i in range(n)
        ]
        while not all(r.done() for r in runs):
            peak = max(peak, appliance.usage()[1])
            time.sleep(0.5)
        outcomes = [r.result() for r in runs]
    cpu_after, _ = appliance.usage()
    result.cpu_percent = round(100 * (cpu_after - cpu_before) / (time.monotonic() - started), 1)
    result.attack_refused = appliance.refused() - refused_before
    if attack:
        result.attack_sent, result.attack_seconds = scanner_sent(folder / "scanner")
    result.peak_rss_mb = round(peak / 2**20, 1)
    for port, outcome in zip(ports, outcomes, strict=True):
        rtt = outcome.response_times_ms[0] if outcome.response_times_ms else None
        figures = caller_view(capture.packets, port, rtt, outcome.ok)
        answers = re.findall(r"SIP/2\.0 ([3-6]\d\d [^\r\n]*)", outcome.output) if rtt is None else []
        if answers:  # the last final response the caller got, not an earlier challenge
            figures.refused, figures.note = answers[-1].strip(), ""
        elif not outcome.ok:  # what the caller's side saw, so that a dropped call can be told from a failed caller
            said = " ".join(outcome.output.split())[-300:]
            figures.note = f"{figures.note}; sipp exited {outcome.returncode}: {said}".lstrip("; ")
        result.figures.append(figures)
    time.sleep(2)  # the records are written once the calls have ended
    words = set(re.findall(r"[a-z]+", QUESTION.lower()))
    for call in (c for c in appliance.calls() if c["id"] not in known):
        detail = appliance.call(call["id"])
        result.underruns += int(detail["call"]["meta"].get("sip", {}).get("frames", {}).get("underruns", 0))
        turns = detail["turns"]
        said = " ".join(t["caller"] or "" for t in turns[1:]).lower()
        result.understood += len(words & set(re.findall(r"[a-z]+", said))) >= len(words) / 2
        result.stages_ms += [t["latency_ms"] for t in turns[1:2]]
    return result


def media_round(n: int, appliance: Appliance, trunk: Kamailio, folder: Path) -> float:
    """CPU % of the appliance carrying ``n`` silent calls once their greetings are over: the SIP and media path's
    own cost (RTP both ways, the bridge, the listener's VAD), without the models answering."""
    scenario = call_scenario(hold_ms=30000)
    with ThreadPoolExecutor(n) as pool:
        runs = [
            pool.submit(run_sipp, scenario, service=DID, target=trunk.address, folder=folder / f"idle{i}")
            for i in range(n)
        ]
        time.sleep(15)  # answered and greeted
        cpu_before, _ = appliance.usage()
        time.sleep(10)
        cpu_after, _ = appliance.usage()
        for run in runs:
            run.result()
    return round(10 * (cpu_after - cpu_before), 1)


def summarise(rounds: list[Round]) -> dict[str, Any]:
    figures = [f for r in rounds for f in r.figures]
    rtt = [f.invite_to_200_ms for f in figures if f.invite_to_200_ms is not None]
    v2v = [f.voice_to_voice_ms for f in figures if f.voice_to_voice_ms is not None]
    return {
        "calls": rounds[0].calls,
        "samples": len(figures),
        "invite_200_p50_ms": percentile(rtt, 0.5),
        "invite_200_p95_ms": percentile(rtt, 0.95),
        "v2v_p50_ms": percentile(v2v, 0.5),
        "v2v_p95_ms": percentile(v2v, 0.95),
        "dropped": sum(not f.ok and not f.refused for f in figures),
        "refused": dict(collections.Counter(f.refused for f in figures if f.refused)),
        "greeting_overlapped": sum(f.greeting_overlapped for f in figures),
        "rtp_lost": sum(f.lost for f in figures),
        "rtp_late": sum(f.late for f in figures),
        "underruns": sum(r.underruns for r in rounds),
        "understood": f"{sum(r.understood for r in rounds)}/{len(figures)}",
        "cpu_percent": statistics.median(r.cpu_percent for r in rounds),
        "peak_rss_mb": max(r.peak_rss_mb for r in rounds),
        "appliance_stages_p50_ms": {
            stage: percentile([s[stage] for r in rounds for s in r.stages_ms if s.get(stage) is not None], 0.5)
            for stage in ("endpoint", "stt", "llm_first_token", "tts_first_audio", "voice_to_voice")
        },
        "notes": sorted({f.note for f in figures if f.note}),
        "attack_invites_per_s": rounds[0].attack_rate,
        "attack_refused": sum(r.attack_refused for r in rounds),
        "attack_sent": sum(r.attack_sent for r in rounds),
        "attack_seconds": round(sum(r.attack_seconds for r in rounds), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--llm", default="qwen2.5-coder-0.5b")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, data, traces)")
    parser.add_argument("--attack", type=int, default=0, help="also run each call count under this many INVITEs/s")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("capturing RTP on the loopback interface needs root")
    with contextlib.ExitStack() as cleanup:
        tmp = tempfile.mkdtemp(prefix="sip-bench-")
        if args.keep:
            print(f"keeping the appliance's data, logs and the callers' traces in {tmp}")
        else:
            cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        folder = Path(tmp)
        trunk = Kamailio(
            folder / "kamailio",
            port=free_port(both=True),
            users={TRUNK_USER: TRUNK_PASSWORD},
            ruri_dids={DID: TRUNK_USER},
        )
        trunk.start()
        appliance = None
        try:
            audio = ulaw_file(_question_wav(folder), folder / "question.ulaw", after_s=1.0)
            appliance = start_appliance(folder / "appliance", trunk, args.llm, min(CALL_SLOTS, max(args.calls)))
            media = {n: media_round(n, appliance, trunk, folder / f"media{n}") for n in args.calls}
            results = []
            for n, attack in itertools.product(args.calls, sorted({0, args.attack})):
                rounds = []
                for i in range(args.rounds):
                    under = f" under {attack} INVITEs/s from {SCANNER}" if attack else ""
                    print(f"{n} simultaneous call(s){under}, round {i + 1}/{args.rounds} ...", flush=True)
                    rounds.append(run_round(n, appliance, trunk, audio, folder / f"n{n}a{attack}r{i}", attack))
                results.append(
                    {**summarise(rounds), "media_only_cpu_percent": media[n], "rounds": [asdict(r) for r in rounds]}
                )
        finally:
            if appliance is not None:
                appliance.proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    appliance.proc.wait(60)
            trunk.stop()
    _report(results, args)


def _question_wav(folder: Path) -> Path:
    """The question in Piper's voice through a phone line's mu-law, as the tests make their clips."""
    settings = load_settings(None, {"APPLIANCE_MODELS__DIR": str(models_dir())})
    models = ModelSet(settings.models, settings.models_path)
    return asyncio.run(piper_clip(models.tts(), QUESTION, folder))


def models_dir() -> Path:
    """Assembled models are kept between runs (as ``make run`` keeps them), unless told otherwise."""
    return Path(os.environ.get("APPLIANCE_MODELS__DIR") or MODELS)


def _report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    head = (
        f"{'calls':>5} {'n':>3} {'INVITE→200 p50/p95 ms':>22} {'voice→voice p50/p95 ms':>23} {'dropped':>7} "
        f"{'lost/late/underruns':>19} {'understood':>10} {'CPU %':>6} {'RSS MB':>7}"
    )
    print(head)
    for r in results:
        print(
            f"{r['calls']:>5} {r['samples']:>3} {r['invite_200_p50_ms']!s:>10} / {r['invite_200_p95_ms']!s:<9} "
            f"{r['v2v_p50_ms']!s:>11} / {r['v2v_p95_ms']!s:<9} {r['dropped']:>7} "
            f"{r['rtp_lost']:>6}/{r['rtp_late']}/{r['underruns']:<8} {r['understood']:>10} {r['cpu_percent']:>6} "
            f"{r['peak_rss_mb']:>7}"
        )
        stages = ", ".join(f"{k} {v}" for k, v in r["appliance_stages_p50_ms"].items())
        print(f"      appliance's own p50 (ms): {stages}")
        print(f"      media path only (silent calls): {r['media_only_cpu_percent']} % CPU")
        if r["attack_invites_per_s"]:
            print(
                f"      under attack: {r['attack_sent']} new INVITEs in {r['attack_seconds']} s from {SCANNER} "
                f"(asked for {r['attack_invites_per_s']}/s); {r['attack_refused']} reached the SIP stack and got 403, "
                "the rest were dropped by the socket filter"
            )
        for answer, count in r["refused"].items():
            print(f"      refused: {count} with {answer} (over sip.max_calls)")
        for note in r["notes"]:
            print(f"      {note}")
    save_results("sip_calls", {"llm": args.llm, "rounds": args.rounds, "attack": args.attack, "results": results})


if __name__ == "__main__":
    main()
