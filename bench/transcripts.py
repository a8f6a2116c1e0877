"""Transcripts that are not answered: how often speech is wrongly dropped, and how often what is not speech is.

    .venv/bin/python -m bench.transcripts [--split tune|held_out]

Speech: every caller turn of bench/turns.py's split (its voices, some with line hiss, through 8 kHz mu-law).
Not speech: hiss, hum, a buzz, music on hold and chords (testkit/sounds.py), 2, 4 and 8 s long, at three levels,
through the same line. Each goes to the STT model as an utterance would; a transcription is "rejected" when the
model says it repeats itself or is not speech (models/transcript_checks.py). Prints a table and writes
bench/results/transcripts-<split>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import numpy as np

from bench.common import MODELS, percentile, save_results
from bench.turns import RATE, Split, load_clips
from core.audio import to_float
from models.config import ModelSettings
from models.interfaces import SttProvider
from models.loader import ModelSet
from testkit.sounds import not_speech, on_the_line

LEVELS = (0.3, 1.0, 2.0)  # times the sounds' own level


async def _rejected(stt: SttProvider, audio: np.ndarray) -> tuple[str | None, str, float]:
    started = time.perf_counter()
    result = await stt.transcribe(to_float(audio))
    return result.rejected, result.text, (time.perf_counter() - started) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["tune", "held_out"], default="held_out")
    args = parser.parse_args()
    split: Split = args.split
    stt = ModelSet(ModelSettings(), MODELS).stt()
    speech = load_clips(split)
    wrongly: list[str] = []
    ms: list[float] = []
    for clip in speech:
        rejected, text, took = await _rejected(stt, clip.audio)
        ms.append(took)
        if rejected is not None:
            wrongly.append(f"{clip.voice}: {clip.text!r} -> {text!r} ({rejected})")
    kept: list[str] = []
    worded = 0  # what the call would have answered before the check: any word at all
    sounds = 0
    for seconds in (2.0, 4.0, 8.0):
        for name, pcm in not_speech(seconds, seed=int(seconds)).items():
            for level in LEVELS:
                rejected, text, _ = await _rejected(stt, on_the_line(pcm.astype(np.float32) * level, RATE))
                sounds += 1
                worded += any(ch.isalnum() for ch in text)
                if rejected is None and text.strip(" .") != "":
                    kept.append(f"{name} {seconds:.0f} s x{level}: {text!r}")
    results = {
        "split": split,
        "speech_utterances": len(speech),
        "speech_rejected": len(wrongly),
        "speech_rejected_pct": round(100 * len(wrongly) / len(speech), 1),
        "stt_p50_ms": round(statistics.median(ms), 1),
        "stt_p95_ms": percentile(ms, 0.95),
        "not_speech_sounds": sounds,
        "not_speech_answered": len(kept),
        "not_speech_with_words": worded,
        "not_speech_answered_pct": round(100 * len(kept) / sounds, 1),
        "speech_rejected_examples": wrongly,
        "not_speech_answered_examples": kept,
    }
    print(f"| {split} | utterances | rejected |\n|---|---|---|")
    print(f"| speech | {len(speech)} | {len(wrongly)} ({results['speech_rejected_pct']} %) |")
    print(f"| not speech | {sounds} | {sounds - len(kept)} (answered: {len(kept)}; with words: {worded}) |")
    for line in wrongly + kept:
        print("  ", line)
    save_results(f"transcripts-{split}", results)


if __name__ == "__main__":
    asyncio.run(main())
