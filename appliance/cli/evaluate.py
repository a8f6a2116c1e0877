"""`appliance eval`: a business's golden conversations placed as calls and checked, against a stored baseline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

from appliance.cli.context import CliContext
from core.errors import InputError

if TYPE_CHECKING:  # the golden conversations' module holds the call loop: imported only when the command runs
    from core.calls.golden import GoldenResult

# The evaluation ran and found failures (without a baseline) or regressions (with one): not an error of the tool.
FOUND = 3


def _read_baseline(path: Path) -> dict[str, GoldenResult] | None:
    """The stored results, or None when there are none yet (any failure then counts)."""
    from core.calls.golden import GoldenResult

    if not path.exists():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=dict[str, dict[str, GoldenResult]])["results"]
    except (OSError, msgspec.DecodeError, KeyError) as exc:
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
    from core.calls.golden import compare, load_goldens, request_for, result_of

    if write_baseline and baseline is None:
        raise click.UsageError("--write-baseline needs --baseline FILE")
    goldens = load_goldens(file)
    if only:
        unknown = sorted(set(only) - {g.name for g in goldens})
        if unknown:
            raise InputError(f"no conversation named {unknown[0]!r} in {file}")
        goldens = [g for g in goldens if g.name in only]
    before = _read_baseline(baseline) if baseline is not None else None
    requests = [request_for(g, file.parent) for g in goldens]  # every audio file checked before any call is placed
    backend = obj.backend()
    results = []
    try:
        for golden, request in zip(goldens, requests, strict=True):
            results.append(result_of(golden, backend.simulate(request)))
            if not as_json:
                click.echo(f"{'pass' if results[-1].passed else 'FAIL'}  {golden.name}", err=True)
    finally:
        backend.close()
    compared = compare(results, before or {})
    if as_json:
        body = {"results": results, "regressed": compared.regressed, "replies_changed": compared.replies_changed}
        click.echo(msgspec.json.encode(body).decode())
    else:
        _table(results, before, compared.regressed, compared.replies_changed)
    if write_baseline and baseline is not None:
        stored = {"results": {r.name: r for r in results}}
        baseline.write_bytes(msgspec.json.format(msgspec.json.encode(stored)))
        click.echo(f"baseline written to {baseline}", err=True)
    bad = compared.regressed if before is not None else [r.name for r in results if not r.passed]
    if bad:
        sys.exit(FOUND)


def _table(
    results: list[GoldenResult], before: dict[str, GoldenResult] | None, regressed: list[str], changed: list[str]
) -> None:
    width = max(len(r.name) for r in results)
    for r in results:
        was = ""
        if before is not None and r.name in before:
            was = " (passed before)" if before[r.name].passed else " (failed before)"
        click.echo(f"{r.name:<{width}}  {'pass' if r.passed else 'FAIL'}{was}  {', '.join(r.outcomes)}")
        for failure in r.failures:
            click.echo(f"{'':<{width}}    - {failure}")
    passed = sum(r.passed for r in results)
    click.echo(f"\n{passed} of {len(results)} passed")
    if before is not None:
        click.echo(f"regressions: {', '.join(regressed) or 'none'}")
        click.echo(f"replies that differ from the baseline: {', '.join(changed) or 'none'}")
