"""``appliance kb`` from the command line: on its own (opening the store) and while ``appliance serve`` holds the
store (through the API, an ingest as a job to follow), with a website served by the test on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.server_file import read_server_file
from appliance.settings import load_settings
from tests.conftest import EXAMPLE_TENANT, cli_env
from tests.kb.site import Site, bike_shop, serve


def _run(args: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _env(tmp: Path, models_dir: Path, **extra: str) -> dict[str, str]:
    config = tmp / "appliance.toml"
    config.write_text('[kb]\nallow_hosts = ["127.0.0.1"]\nmax_file_mb = 1\n')
    env = cli_env(tmp / "data", models_dir, APPLIANCE_CONFIG=str(config), **extra)
    assert _run(["tenant", "create", "--from", str(EXAMPLE_TENANT)], env).returncode == 0
    return env


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve(bike_shop(Site())) as served:
        yield served


def test_kb_commands_without_a_server(tmp_path: Path, models_dir: Path, site: Site) -> None:
    env = _env(tmp_path, models_dir)
    notes = tmp_path / "boilers.md"
    notes.write_text("# Boilers\n## Servicing\nAn annual boiler service is 149 dollars, Gas licence GL-99812.\n")
    done = _run(["kb", "add", "--tenant", "example", site.url + "/", str(notes), "--faq", "--depth", "1"], env)
    assert done.returncode == 0, done.stderr
    assert "added boilers.md" in done.stdout and "added faq" in done.stdout and "mode inline" in done.stdout
    listed = json.loads(_run(["kb", "list", "--tenant", "example", "--json"], env).stdout)
    assert listed["knowledge"]["mode"] == "inline"
    assert {s["source"] for s in listed["sources"]} == {site.url + "/", "boilers.md", "faq"}
    hits = json.loads(_run(["kb", "search", "--tenant", "example", "GL-99812", "--json"], env).stdout)
    assert "boiler service is 149 dollars" in hits[0]["text"] and "bm25" in hits[0]["legs"]
    text = _run(["kb", "search", "--tenant", "example", "certificate CT2-77841"], env).stdout
    assert text.startswith("1. " + site.url + "/about") and "found by bm25" in text
    done = _run(["kb", "remove", "--tenant", "example", "boilers.md"], env)
    assert done.returncode == 0 and "removed boilers.md" in done.stdout
    listed = json.loads(_run(["kb", "list", "--tenant", "example", "--json"], env).stdout)
    assert "boilers.md" not in {s["source"] for s in listed["sources"]}


def test_kb_errors_are_one_clear_line(tmp_path: Path, models_dir: Path) -> None:
    env = _env(tmp_path, models_dir)
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (2 << 20))
    for args, fragment in (
        (["kb", "add", "--tenant", "example", str(tmp_path / "nope.pdf")], "no such file"),
        (["kb", "add", "--tenant", "example", str(big)], "2 MB is over the limit of 1 MB"),
        (["kb", "remove", "--tenant", "example", "nothing.txt"], "has no source 'nothing.txt'"),
        (["kb", "list", "--tenant", "nobody"], "no tenant 'nobody'"),
    ):
        done = _run(args, env)
        lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert len(lines) == 1 and fragment in lines[0], done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_kb_commands_through_a_running_server(tmp_path: Path, models_dir: Path, site: Site) -> None:
    env = _env(tmp_path, models_dir, APPLIANCE_SERVER__PORT=str(_free_port()))
    proc = subprocess.Popen([sys.executable, "-m", "appliance", "serve"], env=env, stderr=subprocess.DEVNULL)
    try:
        settings = load_settings(Path(env["APPLIANCE_CONFIG"]), env)
        deadline = time.monotonic() + 240
        while (server := read_server_file(settings)) is None or _status(server.url) != 200:
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not become healthy"
            time.sleep(0.5)
        done = _run(["kb", "add", "--tenant", "example", site.url + "/"], env)
        assert done.returncode == 0, done.stderr
        assert "added " + site.url + "/: 6 pages" in done.stdout
        hits = json.loads(_run(["kb", "search", "--tenant", "example", "puncture repair price", "--json"], env).stdout)
        assert any("£12" in h["text"] for h in hits)
        headers = {"Authorization": f"Bearer {server.token}"}
        big = httpx.put(f"{server.url}/api/v1/kb/example/files/big.txt", content=b"a" * (3 << 20), headers=headers)
        assert big.status_code == 413 and "over the limit of 1 MB" in big.json()["detail"]
        job = httpx.post(f"{server.url}/api/v1/kb/example/websites", json={"url": "http://10.0.0.7/"}, headers=headers)
        assert job.status_code == 202
        while (state := httpx.get(f"{server.url}/api/v1/kb/example/jobs/{job.json()['id']}", headers=headers).json())[
            "state"
        ] == "running":
            time.sleep(0.2)
        assert state["state"] == "failed" and "10.0.0.7 is a private address" in state["error"]
        paths = httpx.get(f"{server.url}/schema/openapi.json").json()["paths"]
        assert "/api/v1/kb/{tenant_id}/search" in paths and "/api/v1/kb/{tenant_id}/jobs/{job_id}" in paths
        assert httpx.get(f"{server.url}/api/v1/kb/example").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _status(url: str) -> int:
    try:
        return httpx.get(f"{url}/healthz").status_code
    except httpx.HTTPError:
        return 0
