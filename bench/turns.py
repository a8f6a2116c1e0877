"""When is the caller's turn over: the silence window alone against the turn model, on phone audio.

    .venv/bin/python -m bench.turns [--split tune|held_out] [--config NAME ...]

Caller turns from bench/data/turns.toml, each spoken by a Piper or espeak-ng voice (some with line noise), put
through a phone line's 8 kHz mu-law and back, then fed frame by frame to the call's own Listener (and TurnJudge)
as a call feeds them. Each turn model decision is taken where it was asked in the audio, and the time it took is
added to the delay, as the caller waits for it. Per configuration:

- early cut-offs: incomplete turns (a pause inside the sentence, then the rest) ended in the pause, and complete
  turns ended before their last word (a pause inside a sentence taken for its end);
- end-of-turn delay of complete turns, from the last speech the VAD heard to the turn's end (p50, p95);
- the turn model's decision time (p50, p95).

Prints a table and writes bench/results/turns-<split>.json. Clips are cached in data/bench/turns.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import statistics
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec
import numpy as np
import structlog
from piper import PiperVoice, SynthesisConfig

from bench.common import MODELS, ROOT, percentile, save_results
from core.audio import read_wav, resample, write_wav
from core.calls.listener import EndpointPolicy
from core.calls.settings import CallSettings
from core.events import UtteranceEnded
from models.config import ModelSettings
from models.interfaces import Pcm16, TurnDetector, VadProvider
from models.loader import ModelSet
from models.resolve import resolve
from testkit.listening import Heard, listen
from testkit.sounds import on_the_line

MATERIAL = ROOT / "bench" / "data" / "turns.toml"
CACHE = ROOT / "data" / "bench" / "turns"
RATE = 16_000
LEAD_S = 0.4
TRAIL_S = 3.0
# Pauses inside an incomplete turn, drawn per clip: the range people leave mid-sentence while thinking.
PAUSE_S = (0.3, 1.5)
NOISE_RMS = 0.004  # about -48 dBFS of line hiss on the noisy voices, before mu-law

Split = Literal["tune", "held_out"]


class _Splits(msgspec.Struct):
    tune: list[str]
    held_out: list[str]


class _IncompleteSplits(msgspec.Struct):
    tune: list[tuple[str, str, str]]
    held_out: list[tuple[str, str, str]]


class Material(msgspec.Struct):
    voices: _Splits
    complete: _Splits
    incomplete: _IncompleteSplits


@dataclass(frozen=True, slots=True)
class Clip:
    kind: str  # "complete", or the incomplete kind (clause, number, list, filler)
    voice: str
    text: str
    audio: Pcm16
    rest_start: float | None  # where the rest of an incomplete turn starts (s); None for a complete one
    speech_end: float  # the end of the clip's last word (s), before the trailing silence


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    silence_ms: int = 500
    speculate_ms: int = 150
    turn: bool = False
    threshold: float = 0.5
    fallback_ms: int = 2000
    pause_ms: int = 0  # a turn judged finished ends no sooner than this silence


_CALLS = CallSettings()
CONFIGS = {
    c.name: c
    for c in (
        # The appliance's defaults (core/calls/settings.py): the silence window, and the turn model.
        Config("silence-default", silence_ms=_CALLS.endpoint_silence_ms),
        Config(
            "turn-default",
            speculate_ms=_CALLS.speculate_after_ms,
            turn=True,
            threshold=_CALLS.turn_threshold,
            pause_ms=_CALLS.turn_pause_ms,
            fallback_ms=_CALLS.turn_fallback_ms,
        ),
        # What else was tried on the tune split (the README has their figures).
        Config("silence-800", silence_ms=800),
        Config("turn-p0-f2000", turn=True),
        Config("turn-p0-t0.3-f2000", turn=True, threshold=0.3),
        Config("turn-p0-t0.7-f2000", turn=True, threshold=0.7),
        Config("turn-p300-f2000", turn=True, pause_ms=300),
        Config("turn-p300-f1200", turn=True, pause_ms=300, fallback_ms=1200),
        Config("turn-p300-f1000", turn=True, pause_ms=300, fallback_ms=1000),
        Config("turn-p400-f2000", turn=True, pause_ms=400),
    )
}


@dataclass(slots=True)
class Outcome:
    cut_incomplete: list[bool] = field(default_factory=list)
    cut_complete: list[bool] = field(default_factory=list)
    delays_ms: list[float] = field(default_factory=list)
    decisions_ms: list[float] = field(default_factory=list)
    cut_by_kind: dict[str, list[bool]] = field(default_factory=dict)
    # Complete turns that waited for the fallback silence (the model heard them as unfinished), per voice.
    waited_by_voice: dict[str, list[bool]] = field(default_factory=dict)


class _Voices:
    """Speech from the voice names of the material: ``piper:<length scale>`` or ``espeak:<voice>:<words/min>``,
    either with ``:noise`` for line hiss."""

    def __init__(self) -> None:
        path = resolve("tts", ModelSettings().tts, MODELS).path
        self._piper = PiperVoice.load(path, config_path=path.with_name(path.name + ".json"))

    def speak(self, voice: str, text: str) -> Pcm16:
        parts = voice.split(":")
        if parts[0] == "piper":
            config = SynthesisConfig(length_scale=float(parts[1]), normalize_audio=True)
            audio = np.concatenate([chunk.audio_float_array for chunk in self._piper.synthesize(text, config)])
            pcm = (np.clip(audio, -1, 1) * 32767 * 0.7).astype(np.int16)
            return resample(pcm, self._piper.config.sample_rate, RATE)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "espeak.wav"
            subprocess.run(["espeak-ng", "-v", parts[1], "-s", parts[2], "-w", str(out), text], check=True)
            return read_wav(out, RATE)


def _trimmed(pcm: Pcm16) -> Pcm16:
    """Without the voice's own leading and trailing silence, so the pauses are the ones the clip is built with."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 300)
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm


def _line(pcm: Pcm16, noisy: bool, seed: int) -> Pcm16:
    """Through a phone line: hiss where the voice has it, then 8 kHz mu-law and back to 16 kHz."""
    audio = pcm.astype(np.float32)
    if noisy:
        audio += np.random.default_rng(seed).normal(0.0, NOISE_RMS * 32767, audio.size).astype(np.float32)
    return on_the_line(audio, RATE)


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha1("|".join(parts).encode()).digest()[:4], "big")


def _clip(voices: _Voices, voice: str, kind: str, first: str, rest: str | None) -> Clip:
    key = hashlib.sha1(f"{voice}|{kind}|{first}|{rest}".encode()).hexdigest()[:16]
    cached = CACHE / f"{key}.wav"
    meta = CACHE / f"{key}.json"
    lead = np.zeros(int(LEAD_S * RATE), np.int16)
    if cached.exists() and meta.exists():
        rest_start, speech_end = msgspec.json.decode(meta.read_bytes(), type=tuple[float | None, float])
        return Clip(kind, voice, first + (f" … {rest}" if rest else ""), read_wav(cached, RATE), rest_start, speech_end)
    pieces = [lead, _trimmed(voices.speak(voice, first))]
    rest_start = None
    if rest is not None:
        low, high = PAUSE_S
        pause = low + (high - low) * (_seed(key) % 1000) / 999
        pieces.append(np.zeros(int(pause * RATE), np.int16))
        rest_start = sum(p.size for p in pieces) / RATE
        pieces.append(_trimmed(voices.speak(voice, rest)))
    speech_end = sum(p.size for p in pieces) / RATE
    pieces.append(np.zeros(int(TRAIL_S * RATE), np.int16))
    audio = _line(np.concatenate(pieces), voice.endswith(":noise"), _seed(key))
    CACHE.mkdir(parents=True, exist_ok=True)
    write_wav(cached, audio, RATE)
    meta.write_bytes(msgspec.json.encode((rest_start, speech_end)))
    return Clip(kind, voice, first + (f" … {rest}" if rest else ""), audio, rest_start, speech_end)


def load_clips(split: Split) -> list[Clip]:
    material = msgspec.convert(tomllib.loads(MATERIAL.read_text()), Material)
    voices = _Voices()
    clips: list[Clip] = []
    for voice in getattr(material.voices, split):
        for text in getattr(material.complete, split):
            clips.append(_clip(voices, voice, "complete", text, None))
        for prefix, rest, kind in getattr(material.incomplete, split):
            clips.append(_clip(voices, voice, kind, prefix, rest))
    return clips


async def _listen(clip: Clip, config: Config, vad: VadProvider, turn: TurnDetector) -> Heard:
    policy = EndpointPolicy(
        threshold=0.5,
        silence_s=config.silence_ms / 1000,
        min_speech_s=0.12,
        speculate_s=config.speculate_ms / 1000,
        fallback_s=config.fallback_ms / 1000 if config.turn else None,
        turn_threshold=config.threshold,
        turn_pause_s=config.pause_ms / 1000,
    )
    audio = clip.audio.astype(np.float32) / 32768.0
    return await listen(audio, policy, vad, turn if config.turn else None, frame=vad.frame_samples)


def _ended_at(ended: UtteranceEnded, seen: Heard, config: Config) -> float:
    """When the caller hears the turn is over (audio time): a turn the model ended waited for its decision."""
    waited = ended.endpoint_at - ended.speech_end
    by_model = config.turn and waited < config.fallback_ms / 1000 - 1e-6
    decision = next((j.seconds for j in seen.judged if j.speech_end == ended.speech_end), 0.0)
    return ended.endpoint_at + (decision if by_model else 0.0)


async def evaluate(clips: list[Clip], config: Config, vad: VadProvider, turn: TurnDetector) -> Outcome:
    outcome = Outcome()
    for clip in clips:
        seen = await _listen(clip, config, vad, turn)
        outcome.decisions_ms += [j.seconds * 1000 for j in seen.judged]
        ends = [_ended_at(u, seen, config) for u in seen.ended]
        if clip.rest_start is None:
            # Ended before the last word: a pause inside the sentence was taken for its end.
            outcome.cut_complete.append(any(end < clip.speech_end - 0.05 for end in ends))
            if seen.ended:
                delay = ends[-1] - seen.ended[-1].speech_end
                outcome.delays_ms.append(delay * 1000)
                waited = config.turn and delay >= config.fallback_ms / 1000 - 1e-6
                outcome.waited_by_voice.setdefault(clip.voice, []).append(waited)
        else:
            cut = any(end < clip.rest_start for end in ends)
            outcome.cut_incomplete.append(cut)
            outcome.cut_by_kind.setdefault(clip.kind, []).append(cut)
    return outcome


def _pct(flags: list[bool]) -> float:
    return round(100 * sum(flags) / len(flags), 1) if flags else 0.0


def summary(config: Config, outcome: Outcome, seconds: float) -> dict[str, object]:
    return {
        "config": config.name,
        "incomplete_turns": len(outcome.cut_incomplete),
        "complete_turns": len(outcome.cut_complete),
        "early_cutoffs_incomplete_pct": _pct(outcome.cut_incomplete),
        "early_cutoffs_complete_pct": _pct(outcome.cut_complete),
        "cutoffs_by_kind_pct": {kind: _pct(flags) for kind, flags in sorted(outcome.cut_by_kind.items())},
        "complete_waited_fallback_pct": _pct([w for flags in outcome.waited_by_voice.values() for w in flags]),
        "waited_fallback_by_voice_pct": {voice: _pct(flags) for voice, flags in outcome.waited_by_voice.items()},
        "delay_p50_ms": percentile(outcome.delays_ms, 0.5),
        "delay_p95_ms": percentile(outcome.delays_ms, 0.95),
        "delay_mean_ms": round(statistics.fmean(outcome.delays_ms), 1) if outcome.delays_ms else None,
        "decision_p50_ms": percentile(outcome.decisions_ms, 0.5),
        "decision_p95_ms": percentile(outcome.decisions_ms, 0.95),
        "decisions": len(outcome.decisions_ms),
        "seconds": round(seconds, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["tune", "held_out"], default="held_out")
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS), help="default: all")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    models = ModelSet(ModelSettings(), MODELS)
    vad, turn = models.vad(), models.turn()
    started = time.perf_counter()
    clips = load_clips(args.split)
    print(f"{len(clips)} clips ({args.split}) ready in {time.perf_counter() - started:.1f} s")
    rows = []
    print(f"{'config':<22} {'cut incompl %':>13} {'cut compl %':>11} {'delay p50':>9} {'p95':>6}", end="")
    print(f" {'decide p50':>10} {'p95':>5}")
    for name in args.config or list(CONFIGS):
        config = CONFIGS[name]
        started = time.perf_counter()
        row = summary(config, await evaluate(clips, config, vad, turn), time.perf_counter() - started)
        rows.append(row)
        print(
            f"{name:<22} {row['early_cutoffs_incomplete_pct']:>13} {row['early_cutoffs_complete_pct']:>11} "
            f"{row['delay_p50_ms']!s:>9} {row['delay_p95_ms']!s:>6} {row['decision_p50_ms']!s:>10} "
            f"{row['decision_p95_ms']!s:>5}  waited {row['complete_waited_fallback_pct']}"
            f"  by kind {row['cutoffs_by_kind_pct']}"
        )
    save_results(f"turns-{args.split}", {"split": args.split, "clips": len(clips), "rows": rows})


if __name__ == "__main__":
    asyncio.run(main())
