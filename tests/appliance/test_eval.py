"""`appliance eval`: golden conversations placed as calls through the real session, checked, and compared with a
stored baseline; a regression exits non-zero, and bad files are refused before any call is placed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_TENANT, cli_env

GOLDEN = """
[[conversation]]
name = "call-out fee"
tenant = "example"
turns = ["How much is a call-out on a weekday?"]
intents = ["question"]
outcomes = ["question_answered"]
says = ["95"]
never_says = ["solar"]

[[conversation]]
name = "claims solar"
tenant = "example"
turns = ["Do you install solar panels?"]
says = ["we install solar panels"]
"""
APPLIANCE = [sys.executable, "-m", "appliance"]


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*APPLIANCE, *args], env=env, capture_output=True, text=True, timeout=600)


def test_goldens_pass_fail_and_regress_against_the_baseline(tmp_path: Path, models_dir: Path) -> None:
    env = cli_env(tmp_path / "data", models_dir)
    subprocess.run([*APPLIANCE, "tenant", "create", "--from", str(EXAMPLE_TENANT)], env=env, check=True)
    golden, baseline = tmp_path / "golden.toml", tmp_path / "baseline.json"
    golden.write_text(GOLDEN)
    first = _run(env, "eval", str(golden), "--baseline", str(baseline), "--write-baseline")
    # No baseline yet: a failure is what makes it exit non-zero (3), and the results become the baseline.
    assert first.returncode == 3, first.stderr
    assert "call-out fee" in first.stdout and "1 of 2 passed" in first.stdout
    assert "never said 'we install solar panels'" in first.stdout
    stored = json.loads(baseline.read_text())["results"]
    assert stored["call-out fee"]["passed"] is True and stored["claims solar"]["passed"] is False
    # Nothing that passed before fails now: no regression.
    again = _run(env, "eval", str(golden), "--baseline", str(baseline), "--only", "claims solar", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["regressed"] == []
    # Had it passed before, the same failure is a regression.
    stored["claims solar"]["passed"] = True
    baseline.write_text(json.dumps({"results": stored}))
    regressed = _run(env, "eval", str(golden), "--baseline", str(baseline), "--only", "claims solar")
    assert regressed.returncode == 3 and "regressions: claims solar" in regressed.stdout, regressed.stdout


def test_a_bad_golden_file_is_refused_before_any_call(tmp_path: Path, models_dir: Path) -> None:
    env = cli_env(tmp_path / "data", models_dir)
    cases = {
        "broken.toml": ("[[conversation]\nname =", "is not valid TOML"),
        "shape.toml": ('[[conversation]]\nname = "x"\ntenant = "example"\nturns = "hello"\n', "turns"),
        "audio.toml": (
            '[[conversation]]\nname = "x"\ntenant = "example"\nturns = [{audio = "missing.wav"}]\n',
            "missing.wav does not exist",
        ),
        "intents.toml": (
            '[[conversation]]\nname = "x"\ntenant = "example"\nturns = ["hi"]\nintents = ["a", "b"]\n',
            "one intent per turn",
        ),
    }
    for name, (text, says) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        run = _run(env, "eval", str(path))
        assert run.returncode == 1 and says in run.stderr and "Traceback" not in run.stderr, (name, run.stderr)
