"""`appliance serve`: health, OpenAPI, the CLI working while the server holds the store, a clean stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import EXAMPLE_TENANT, TENANTS, cli_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path
) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[str]]]:
    data = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = cli_env(data, models_dir, APPLIANCE_SERVER__PORT=str(port))
    appliance = [sys.executable, "-m", "appliance"]
    subprocess.run([*appliance, "tenant", "create", "--from", str(EXAMPLE_TENANT)], env=env, check=True)
    proc = subprocess.Popen([*appliance, "serve"], env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, "the server exited during start-up"
        time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the server did not become healthy in 180 s")
    yield url, env, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_health_reports_every_model_and_the_store(
    server: tuple[str, dict[str, str], subprocess.Popen[str]],
) -> None:
    url, _, _ = server
    health = httpx.get(f"{url}/healthz").json()
    assert health["status"] == "ok"
    assert health["device"] in ("cpu", "cuda")
    assert {m["role"] for m in health["models"]} == {"vad", "turn", "stt", "llm", "tts", "embedder"}
    assert all(m["state"] == "loaded" and m["device"] in ("cpu", "cuda") for m in health["models"])
    assert health["store"]["open"] is True


def test_openapi_docs_are_served(server: tuple[str, dict[str, str], subprocess.Popen[str]]) -> None:
    url, _, _ = server
    schema = httpx.get(f"{url}/schema/openapi.json").json()
    assert "/healthz" in schema["paths"] and "/api/v1/calls/simulate" in schema["paths"]
    assert httpx.get(f"{url}/schema/swagger").status_code == 200


def test_api_needs_the_token(server: tuple[str, dict[str, str], subprocess.Popen[str]]) -> None:
    url, _, _ = server
    assert httpx.get(f"{url}/api/v1/tenants").status_code == 401


def test_cli_works_while_serving(server: tuple[str, dict[str, str], subprocess.Popen[str]]) -> None:
    _, env, _ = server
    appliance = [sys.executable, "-m", "appliance"]
    created = subprocess.run(
        [*appliance, "tenant", "create", "--from", str(TENANTS / "lakeside-dental.toml")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    listed = subprocess.run(
        [*appliance, "tenant", "list", "--json"], env=env, capture_output=True, text=True, check=True
    )
    assert {t["id"] for t in json.loads(listed.stdout)} == {"example", "lakeside-dental"}
    simulated = subprocess.run(
        [
            *appliance,
            "call",
            "simulate",
            "--tenant",
            "lakeside-dental",
            "--say",
            "Where can I park?",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert simulated.returncode == 0, simulated.stderr
    assert json.loads(simulated.stdout)["turns"][1]["caller"] == "Where can I park?"
    call_id = json.loads(simulated.stdout)["call_id"]
    # With no other call in progress, the server writes the call's summary soon after it ends.
    listing = [*appliance, "call", "list", "--tenant", "lakeside-dental"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        page = json.loads(subprocess.run([*listing, "--json"], env=env, capture_output=True, text=True).stdout)
        [row] = [c for c in page["calls"] if c["id"] == call_id]
        if row["analysis_state"] != "pending":
            break
        time.sleep(1)
    assert row["analysis_state"] == "done" and row["outcomes"] == ["question_answered"], row
    assert row["summary"].startswith("The caller wanted to") and row["sentiment"] in ("positive", "neutral", "negative")
    shown = subprocess.run(listing, env=env, capture_output=True, text=True, check=True).stdout
    assert "question_answered" in shown and row["summary"] in shown


def test_stops_cleanly(server: tuple[str, dict[str, str], subprocess.Popen[str]]) -> None:
    _, env, proc = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not (Path(env["APPLIANCE_DATA_DIR"]) / "run" / "server.json").exists()
