"""Bad input to the CLI: one clear line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_TENANT, cli_env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> dict[str, str]:
    env = cli_env(tmp_path_factory.mktemp("cli"), models_dir)
    assert _run(["tenant", "create", "--from", str(EXAMPLE_TENANT)], env).returncode == 0
    return env


def _assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_missing_audio_file(env: dict[str, str], tmp_path: Path) -> None:
    done = _run(["call", "simulate", "--tenant", "example", "--audio", str(tmp_path / "nope.wav")], env)
    _assert_one_line_error(done, "error:", "does not exist")


def test_audio_that_is_not_a_wav(env: dict[str, str], tmp_path: Path) -> None:
    fake = tmp_path / "caller.wav"
    fake.write_text("this is not audio")
    _assert_one_line_error(_run(["call", "simulate", "--tenant", "example", "--audio", str(fake)], env), "not a WAV")


def test_unknown_tenant(env: dict[str, str]) -> None:
    done = _run(["call", "simulate", "--tenant", "nobody", "--say", "hello"], env)
    _assert_one_line_error(done, "no tenant 'nobody'", "known: example")


def test_corrupt_settings_file(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "appliance.toml"
    bad.write_text("[server\nport = 80\n")
    _assert_one_line_error(_run(["--config", str(bad), "tenant", "list"], env), "not valid TOML")


def test_model_path_that_does_not_exist(env: dict[str, str], tmp_path: Path) -> None:
    broken = {**env, "APPLIANCE_MODELS__LLM": str(tmp_path / "missing.gguf")}
    done = _run(["call", "simulate", "--tenant", "example", "--say", "hello"], broken)
    _assert_one_line_error(done, "models.llm", "nor an existing path")


def test_invalid_tenant_file(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('id = "x1"\nname = "X"\ntimezone = "Nowhere/City"\n')
    _assert_one_line_error(_run(["tenant", "create", "--from", str(bad)], env), "timezone")


def test_no_turns_is_a_usage_error(env: dict[str, str]) -> None:
    done = _run(["call", "simulate", "--tenant", "example"], env)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_tenant_check_lists_two_prices_for_one_service(env: dict[str, str], tmp_path: Path) -> None:
    good = _run(["tenant", "check", "example"], env)
    assert good.returncode == 0 and "no contradictions" in good.stdout, good.stderr
    two = tmp_path / "two.toml"
    two.write_text(
        'id = "two-prices"\nname = "Two"\ntimezone = "Europe/London"\n'
        "faq = \"How much is a men's cut? A men's cut is 28 pounds.\"\n"
        '[[services]]\nname = "Men\'s cut"\nprice = "£30"\n'
    )
    done = _run(["tenant", "check", "--from", str(two)], env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "two prices for one service" in done.stdout and "28 pounds" in done.stdout and "£30" in done.stdout
    neither = _run(["tenant", "check"], env)
    assert neither.returncode == 2 and "give a tenant id, or --from FILE" in neither.stderr
    assert "Traceback" not in neither.stderr
