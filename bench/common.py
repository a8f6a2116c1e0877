"""What the benchmarks share: where things are, a runtime with its models loaded, percentiles, where results go,
and the appliance started as a process of its own."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from appliance.runtime import Runtime
from appliance.settings import load_settings
from core.tenants.document import load_tenant_file

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "data" / "models"  # assembled once and kept between runs, as `make run` keeps them
EXAMPLE_TENANT = ROOT / "examples" / "tenants" / "example.toml"
# The three bundled businesses: a plumber in Melbourne, a dentist in Chicago, a hair studio in Edinburgh.
TENANT_FILES = [EXAMPLE_TENANT, *sorted((ROOT / "tests" / "data" / "tenants").glob("*.toml"))]
PLUMBER, DENTIST, SALON = "example", "lakeside-dental", "fern-and-fade"
APPLIANCE = [sys.executable, "-m", "appliance"]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` quantile (0.95 for the p95), to a tenth; None when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def save_results(name: str, results: Any) -> Path:
    """Writes bench/results/<name>.json and says where."""
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return out


@contextlib.asynccontextmanager
async def bench_runtime(
    llm: str,
    tenant_files: Iterable[Path],
    *,
    data_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    warm: Iterable[str] = (),
) -> AsyncIterator[Runtime]:
    """A runtime on ``llm`` with VAD, STT, the LLM and TTS loaded and the businesses of ``tenant_files`` saved
    (those named in ``warm`` with their prompts read), its data in ``data_dir`` or a temporary folder; ``env``
    adds settings (APPLIANCE_...). Closed on leaving."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            None,
            {
                **(env or {}),
                "APPLIANCE_DATA_DIR": str(data_dir or tmp),
                "APPLIANCE_MODELS__DIR": str(MODELS),
                "APPLIANCE_MODELS__LLM": llm,
            },
        )
        runtime = Runtime.open(settings)
        try:
            for path in tenant_files:
                runtime.tenants.save(load_tenant_file(path), replace=True, actor="bench")
            await runtime.models.load(("vad", "turn", "stt", "llm", "tts", "embedder"))
            for tenant in warm:
                await runtime.warm_tenant(tenant)
            yield runtime
        finally:
            runtime.close()


def appliance_env() -> dict[str, str]:
    """This process's environment without its appliance settings, for an appliance started as a process."""
    return {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}


def wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout_s: float, answers: Iterable[int] = (200,)) -> None:
    """Until the server on ``port`` answers /healthz with one of ``answers``; ends the benchmark if ``proc`` exits
    or ``timeout_s`` passes first."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code in answers:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server on port {port} did not become healthy in {timeout_s:.0f} s")
        time.sleep(0.2)
