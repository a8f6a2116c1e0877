"""``appliance sip``: the trunks' registrations, from the running server (or the settings when none runs)."""

from __future__ import annotations

import sys

import click
import msgspec

from appliance.cli.context import CliContext
from sip.status import SipStatus

NOT_HEALTHY = 3  # as `systemctl status` does: the command worked, but something needs attention


@click.group()
def sip() -> None:
    """SIP trunks: registration status."""


@sip.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def status(obj: CliContext, as_json: bool) -> None:
    """Each trunk's registration: registered, or failing with the reason and the next retry.

    Exits 0 when every trunk is registered (or SIP is off), 3 otherwise."""
    backend = obj.backend()
    try:
        found = backend.sip_status()
    finally:
        backend.close()
    if as_json:
        click.echo(msgspec.json.encode(found).decode())
    else:
        _print(found)
    if not found.healthy:
        sys.exit(NOT_HEALTHY)


def _print(found: SipStatus) -> None:
    line = f"SIP {found.state}"
    if found.listen:
        line += f" on {found.listen}"
    if found.state == "running":
        line += f"  calls {found.active_calls}/{found.max_calls}"
    click.echo(line)
    if found.detail:
        click.echo(f"  {found.detail}")
    if found.refusals:
        click.echo("  refused: " + ", ".join(f"{reason} {count}" for reason, count in sorted(found.refusals.items())))
    for trunk in found.trunks:
        click.echo(f"trunk {trunk.name}  {trunk.username} at {trunk.registrar}: {trunk.state}")
        if trunk.code is not None and trunk.state != "registered":
            click.echo(f"  last answer: {trunk.code} {trunk.reason or ''}".rstrip())
        if trunk.hint:
            click.echo(f"  {trunk.hint}")
        if trunk.next_retry_s is not None:
            click.echo(f"  next attempt in {trunk.next_retry_s:.0f} s ({trunk.failures} failed in a row)")
        if trunk.last_success:
            click.echo(
                f"  last registered {trunk.last_success}" + (f", for {trunk.expires_s} s" if trunk.expires_s else "")
            )
