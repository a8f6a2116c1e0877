"""`appliance serve` with a SIP trunk: status from the CLI while it runs, /healthz, and a clean stop that says
goodbye to a caller, hangs up, writes the record and unregisters."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from appliance.runtime import Runtime
from appliance.settings import load_settings
from sip.line import SHUTDOWN_LINE
from testkit.peers.baresip import Baresip, wav_for_line
from testkit.peers.sipp import refused_scenario, run_sipp
from testkit.ports import free_port
from tests.conftest import cli_env
from tests.sip.conftest import SPARE_USER, TRUNK_PASSWORD, TRUNK_USER, Trunk
from tests.sip.tenants import TENANTS, TORONTO_DID
from tests.sip.test_calls import speech

APPLIANCE = [sys.executable, "-m", "appliance"]


@pytest.fixture(scope="module")
def served(
    trunk: Trunk, tmp_path_factory: pytest.TempPathFactory, models_dir: Path
) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    folder = tmp_path_factory.mktemp("served")
    port = free_port(both=True)
    config = folder / "appliance.toml"
    config.write_text(
        f"""
data_dir = "data"
[server]
port = {free_port(both=True)}
[sip]
bind = "127.0.0.1"
port = {port}
rtp_port = {free_port() // 2 * 2}
rtp_port_count = 100
[[sip.trunks]]
name = "main"
registrar = "{trunk.address}"
username = "{TRUNK_USER}"
password = "{TRUNK_PASSWORD}"
expires_s = 30
[[sip.trunks]]
name = "spare"
registrar = "{trunk.address}"
username = "{SPARE_USER}"
password = "not the password"
"""
    )
    env = cli_env(folder / "unused", models_dir, APPLIANCE_CONFIG=str(config))
    del env["APPLIANCE_DATA_DIR"]  # the settings file's data_dir, relative to it
    for i, text in enumerate(TENANTS):
        tenant_file = folder / f"tenant{i}.toml"
        tenant_file.write_text(text)
        subprocess.run([*APPLIANCE, "tenant", "create", "--from", str(tenant_file)], env=env, check=True)
    proc = subprocess.Popen([*APPLIANCE, "serve"], env=env, stderr=subprocess.DEVNULL, text=True)
    settings = load_settings(config, {})
    url = f"http://127.0.0.1:{settings.server.port}"
    try:
        _wait_healthy(url, proc, folder / "data" / "logs" / "appliance.jsonl")
        yield url, env, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[str], log: Path) -> None:
    """Until the models are loaded, the prompts evaluated (a stop during that waits for the LLM's thread) and the
    main trunk registered."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"{url}/healthz").json()
            warmed = log.exists() and '"ready: all models loaded' in log.read_text()
            if (
                warmed
                and health["status"] in ("ok", "degraded")
                and health["sip"]["trunks"][0]["state"] == "registered"
            ):
                return
        except (httpx.HTTPError, KeyError, json.JSONDecodeError):
            pass
        assert proc.poll() is None, "the server exited during start-up"
        time.sleep(0.5)
    pytest.fail("the server did not become healthy and registered in 300 s")


def test_sip_status_from_the_cli_while_serving(served: tuple[str, dict[str, str], subprocess.Popen[str]]) -> None:
    url, env, _ = served
    shown = subprocess.run([*APPLIANCE, "sip", "status", "--json"], env=env, capture_output=True, text=True)
    assert shown.returncode == 3, shown.stderr  # one trunk is failing
    status = json.loads(shown.stdout)
    assert status["state"] == "running"
    main, spare = status["trunks"]
    assert main["state"] == "registered" and main["last_success"]
    assert spare["state"] in ("failing", "registering")
    text = subprocess.run([*APPLIANCE, "sip", "status"], env=env, capture_output=True, text=True)
    assert "trunk main" in text.stdout and "registered" in text.stdout
    health = httpx.get(f"{url}/healthz")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["sip"]["trunks"][0]["state"] == "registered"
    assert health.json()["sip"]["trunks"][0]["username"] is None  # /healthz is public: no account names


def test_stopping_says_goodbye_hangs_up_and_unregisters(
    served: tuple[str, dict[str, str], subprocess.Popen[str]], trunk: Trunk, tmp_path: Path
) -> None:
    _, env, proc = served
    silence = wav_for_line(np.zeros(0, np.int16), 8000, tmp_path / "silence.wav", after_s=120)
    caller = Baresip(tmp_path / "caller", user="caller", domain=trunk.address, source=silence)
    caller.start()
    try:
        caller.dial(trunk.uri(TORONTO_DID))
        caller.wait("CALL_ESTABLISHED", 20)
        time.sleep(8)  # the greeting
        listed = subprocess.run(
            [*APPLIANCE, "call", "list", "--tenant", "maple-vet", "--json"], env=env, capture_output=True, text=True
        )
        [live] = json.loads(listed.stdout)["calls"]
        assert live["status"] == "active" and live["sip"]["did"] == TORONTO_DID
        proc.send_signal(signal.SIGTERM)
        caller.wait("CALL_CLOSED", 30)
        assert proc.wait(30) == 0
    finally:
        caller.stop()
    heard, rate = caller.received()
    spans = speech(heard, rate)
    goodbye = sum(end - start for start, end in spans[1:])
    assert len(spans) >= 2 and goodbye > 3.0, spans  # the greeting, then the goodbye
    # Unregistered: the trunk no longer knows where to send calls for the number.
    refused = run_sipp(refused_scenario(480), service=TORONTO_DID, target=trunk.address, folder=tmp_path, timeout_s=20)
    assert refused.ok, refused.output
    settings = load_settings(Path(env["APPLIANCE_CONFIG"]), {})
    runtime = Runtime.open(settings)
    try:
        record = runtime.calls.get(live["id"])
        turns = runtime.calls.turns(live["id"])
    finally:
        runtime.close()
    assert record.status == "ended" and record.end_reason == "the appliance shut down"
    assert record.meta["sip"]["hangup_by"] == "appliance"
    assert turns[-1].reply == SHUTDOWN_LINE
