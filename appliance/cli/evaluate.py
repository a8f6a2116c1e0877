"""`appliance eval`: a business's golden conversations placed as calls and checked, against a stored baseline."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from appliance.cli.context import CliContext
from core.errors import InputError

# The evaluation ran and found failures (without a baseline) or regressions (with one): not an error of the tool.
FOUND = 3


class Result(msgspec.Struct, kw_only=True):
    name: str
    passed: bool
    failures: list[str]
    outcomes: list[str]
    replies: list[str]


class Baseline(msgspec.Struct):
    results: dict[str, Result]


def _request(golden: Any, folder: Path) -> Any:
    from core.calls.golden import GoldenAudio
    from core.calls.simulate import SimulationRequest, SimulationTurnInput

    turns = []
    for turn in golden.turns:
        if isinstance(turn, GoldenAudio):
            path = folder / turn.audio
            if not path.is_file():
                raise InputError(f"conversation '{golden.name}': audio file {path} does not exist")
            turns.append(SimulationTurnInput(wav_base64=base64.b64encode(path.read_bytes()).decode()))
        else:
            turns.append(SimulationTurnInput(text=turn))
    return SimulationRequest(tenant=golden.tenant, turns=turns, caller=golden.caller)


def _read_baseline(path: Path) -> Baseline | None:
    if not path.exists():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=Baseline)
    except (OSError, msgspec.DecodeError) as exc:
        raise InputError(
            f"baseline {path} cannot be read ({exc}); remove it or write it again with --write-baseline"
        ) from None


@click.command("eval")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Results to compare with (JSON); a conversation that passed there and fails now is a regression.",
)
@click.option("--write-baseline", is_flag=True, help="Store these results as the baseline (with --baseline).")
@click.option("--only", multiple=True, help="Run only the conversations with these names.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.pass_obj
def evaluate(
    obj: CliContext, file: Path, baseline: Path | None, write_baseline: bool, only: tuple[str, ...], as_json: bool
) -> None:  # fmt: skip
    """Place each golden conversation of FILE (TOML) as a simulated call and check what must happen in it.

    Exits 0 when everything passed (or nothing regressed against --baseline), 3 when something failed (or
    regressed), 1 on an error."""
    from core.calls.golden import failures, load_goldens

    if write_baseline and baseline is None:
        raise click.UsageError("--write-baseline needs --baseline FILE")
    goldens = load_goldens(file)
    if only:
        unknown = sorted(set(only) - {g.name for g in goldens})
        if unknown:
            raise InputError(f"no conversation named {unknown[0]!r} in {file}")
        goldens = [g for g in goldens if g.name in only]
    before = _read_baseline(baseline) if baseline is not None else None
    requests = [_request(g, file.parent) for g in goldens]  # every audio file checked before any call is placed
    backend = obj.backend()
    results = []
    try:
        for golden, request in zip(goldens, requests, strict=True):
            report = backend.simulate(request)
            found = failures(golden, report)
            results.append(Result(name=golden.name, passed=not found, failures=found, outcomes=report.outcomes,
                                  replies=[t.reply for t in report.turns]))  # fmt: skip
            if not as_json:
                click.echo(f"{'pass' if not found else 'FAIL'}  {golden.name}", err=True)
    finally:
        backend.close()
    regressed = [r.name for r in results if before and r.name in before.results and before.results[r.name].passed
                 and not r.passed]  # fmt: skip
    changed = [r.name for r in results if before and r.name in before.results
               and before.results[r.name].replies != r.replies]  # fmt: skip
    if as_json:
        body = {"results": results, "regressed": regressed, "replies_changed": changed}
        click.echo(msgspec.json.encode(body).decode())
    else:
        _table(results, before, regressed, changed)
    if write_baseline and baseline is not None:
        baseline.write_bytes(msgspec.json.format(msgspec.json.encode(Baseline({r.name: r for r in results}))))
        click.echo(f"baseline written to {baseline}", err=True)
    bad = regressed if before is not None else [r.name for r in results if not r.passed]
    if bad:
        sys.exit(FOUND)


def _table(results: list[Result], before: Baseline | None, regressed: list[str], changed: list[str]) -> None:
    width = max(len(r.name) for r in results)
    for r in results:
        was = ""
        if before is not None and r.name in before.results:
            was = " (passed before)" if before.results[r.name].passed else " (failed before)"
        click.echo(f"{r.name:<{width}}  {'pass' if r.passed else 'FAIL'}{was}  {', '.join(r.outcomes)}")
        for failure in r.failures:
            click.echo(f"{'':<{width}}    - {failure}")
    passed = sum(r.passed for r in results)
    click.echo(f"\n{passed} of {len(results)} passed")
    if before is not None:
        click.echo(f"regressions: {', '.join(regressed) or 'none'}")
        click.echo(f"replies that differ from the baseline: {', '.join(changed) or 'none'}")
