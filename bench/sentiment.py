"""How the caller felt: the post-call analysis's sentiment against labelled calls.

    .venv/bin/python -m bench.sentiment [--split tune|held-out]

Calls from bench/data/sentiment.toml (the caller's lines only, varied trades), each given to
``core.aftercall.sentiment.caller_sentiment`` with the default LLM. Prints a table (right per label, what each
label was mistaken for) and writes bench/results/sentiment-<split>.json. The held-out split is the result.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tomllib
from collections import Counter
from pathlib import Path

from bench.common import MODELS, save_results
from core.aftercall.sentiment import LABELS, caller_sentiment
from models.config import ModelSettings
from models.loader import ModelSet

DATA = Path(__file__).parent / "data" / "sentiment.toml"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["tune", "held-out"], default="held-out")
    args = parser.parse_args()
    calls = [c for c in tomllib.loads(DATA.read_text())["call"] if c["split"] == args.split]
    models = ModelSet(ModelSettings(), MODELS)
    await models.load(("llm",))
    llm = models.llm()
    confusion: Counter[tuple[str, str]] = Counter()
    rows = []
    took = []
    for call in calls:
        started = time.perf_counter()
        label, confidence = await caller_sentiment(llm, call["said"])
        took.append(time.perf_counter() - started)
        confusion[(call["label"], label)] += 1
        rows.append({"said": call["said"], "label": call["label"], "got": label, "confidence": confidence})
    models.close()
    right = sum(n for (want, got), n in confusion.items() if want == got)
    print(f"sentiment, {args.split}: {right}/{len(calls)} right ({100 * right / len(calls):.0f} %)")
    print(f"{'label':<10}" + "".join(f"{'-> ' + g:>14}" for g in LABELS))
    for want in LABELS:
        print(f"{want:<10}" + "".join(f"{confusion[(want, got)]:>14}" for got in LABELS))
    took.sort()
    print(f"seconds per call: median {took[len(took) // 2]:.2f}")
    wrong = [r for r in rows if r["label"] != r["got"]]
    for r in wrong:
        print(f"  {r['label']} -> {r['got']} ({r['confidence']}): {' / '.join(r['said'])[:100]}")
    save_results(
        f"sentiment-{args.split}",
        {
            "split": args.split,
            "calls": len(calls),
            "right": right,
            "confusion": {f"{a}->{b}": n for (a, b), n in confusion.items()},
            "rows": rows,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
