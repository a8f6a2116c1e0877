"""The CLI starts at once: ``--help`` and the commands sent to the running server import none of the modules that
take seconds to load (LanceDB, pyarrow, DuckDB, the web server, the models' runtimes, telephony).

Each case runs in a fresh interpreter and checks ``sys.modules`` afterwards; it measures no time, so a slow or
busy machine cannot make it fail.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.ports import free_port
from tests.conftest import ROOT, cli_env

# What the server and the local backend need, and no command that only parses or talks to the server does.
HEAVY = (
    "lancedb",
    "pyarrow",
    "duckdb",
    "litestar",
    "uvicorn",
    "jinja2",
    "aiortc",
    "av",
    "pjsua2",
    "faster_whisper",
    "ctranslate2",
    "llama_cpp",
    "piper",
    "onnxruntime",
    "torch",
    "sentence_transformers",
    "trafilatura",
    "lxml",
    "pypdf",
    "caldav",
    "soundfile",
    "soxr",
)
# A command sent to the server needs its HTTP client and the wire types (some import numpy); help needs neither.
HELP_ALSO_WITHOUT = ("numpy", "httpx")

_PROBE = """
import json, sys
from click.testing import CliRunner
from appliance.cli import cli
from appliance.server_file import write_server_file
from appliance.settings import load_settings

if sys.argv[1] == "serving":
    write_server_file(load_settings(None))  # this process, at the address in the settings, where nothing listens
result = CliRunner().invoke(cli, sys.argv[2:])
print(json.dumps({
    "exit_code": result.exit_code,
    "output": result.output,
    "error": repr(result.exception) if result.exception else None,
    "modules": sorted(sys.modules),
}))
"""


def _probe(env: dict[str, str], mode: str, args: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return found


def _loaded(found: dict[str, object], names: tuple[str, ...]) -> list[str]:
    modules = found["modules"]
    assert isinstance(modules, list)
    return [name for name in names if name in modules]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "data", tmp_path / "models", APPLIANCE_SERVER__PORT=str(free_port(socket.SOCK_STREAM)))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["call", "list", "--help"],
        ["call", "simulate", "--help"],
        ["kb", "search", "--help"],
        ["kb", "add", "--help"],
        ["sip", "status", "--help"],
        ["tenant", "create", "--help"],
        ["models", "check", "--help"],
        ["serve", "--help"],
    ],
)
def test_help_loads_nothing_heavy(env: dict[str, str], args: list[str]) -> None:
    found = _probe(env, "help", args)
    assert found["exit_code"] == 0, found
    assert "Usage:" in str(found["output"])
    assert _loaded(found, HEAVY + HELP_ALSO_WITHOUT) == []


@pytest.mark.parametrize(
    "args",
    [
        ["sip", "status"],
        ["call", "list", "--tenant", "example"],
        ["kb", "search", "--tenant", "example", "Where can I park?"],
        ["kb", "list", "--tenant", "example"],
        ["tenant", "list"],
    ],
)
def test_commands_sent_to_the_server_load_nothing_heavy(env: dict[str, str], args: list[str]) -> None:
    found = _probe(env, "serving", args)
    # The server file names this process at an address where nothing listens: the command chose the server,
    # sent its request, and stopped at the refused connection, having imported everything it would have used.
    assert "did not answer" in str(found["error"]), found
    assert _loaded(found, HEAVY) == []
