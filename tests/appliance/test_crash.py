"""Writes survive a crash: kill the process mid-call, reopen the store, the finished turns are there."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from appliance.runtime import Runtime
from appliance.settings import load_settings
from tests.conftest import EXAMPLE_TENANT, cli_env


def test_finished_turns_survive_a_kill(tmp_path: Path, models_dir: Path) -> None:
    env = cli_env(tmp_path / "data", models_dir, APPLIANCE_LOG_LEVEL="debug")
    appliance = [sys.executable, "-m", "appliance"]
    subprocess.run([*appliance, "tenant", "create", "--from", str(EXAMPLE_TENANT)], env=env, check=True)
    lines = [
        "Hi there.",
        "Do you fix taps?",
        "How much is that?",
        "Are you open Saturday?",
        "Can you come Monday?",
    ]
    says = [arg for line in lines for arg in ("--say", line)]
    proc = subprocess.Popen(
        [*appliance, "call", "simulate", "--tenant", "example", *says],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = tmp_path / "data" / "logs" / "appliance.jsonl"
    deadline = time.monotonic() + 240
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists():
            stored = sum(1 for line in log.read_text().splitlines() if json.loads(line).get("event") == "turn stored")
        if stored >= 3:
            break
        time.sleep(0.05)
    assert stored >= 3 and proc.poll() is None, "the call ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    runtime = Runtime.open(load_settings(None, env))
    try:
        [call_id] = [row[0] for row in runtime.store.rows("SELECT id FROM calls")]
        turns = runtime.calls.turns(call_id)
        assert len(turns) >= stored
        assert [t.caller for t in turns[1:stored]] == lines[: stored - 1]
        assert runtime.calls.get(call_id).status == "interrupted"
    finally:
        runtime.close()
