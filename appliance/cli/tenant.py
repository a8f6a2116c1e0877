"""``appliance tenant``: add businesses from tenant files, and list them."""

from __future__ import annotations

from pathlib import Path

import click
import msgspec

from appliance.cli.context import CliContext
from core.tenants import credentials
from core.tenants.document import load_tenant_file, parse_tenant, read_tenant_file


@click.group()
def tenant() -> None:
    """Businesses served by this box."""


@tenant.command("create")
@click.option("--from", "source", required=True, type=click.Path(path_type=Path), help="Tenant TOML file.")
@click.option("--replace", is_flag=True, help="Update the tenant if it exists.")
@click.option("--if-missing", is_flag=True, help="Do nothing if the tenant exists.")
@click.pass_obj
def create(obj: CliContext, source: Path, replace: bool, if_missing: bool) -> None:
    """Create a tenant from a TOML file (format: README, 'Tenant files'). Its credentials (the CalDAV password,
    a tool's secret) are stored encrypted; one left out of the file, or written as "set", keeps the stored one,
    and "" clears it."""
    if replace and if_missing:
        raise click.UsageError("--replace and --if-missing contradict each other")
    doc = parse_tenant(credentials.incoming(read_tenant_file(source)), source=str(source))
    backend = obj.backend()
    try:
        if if_missing and backend.tenant_exists(doc.id):
            click.echo(f"tenant '{doc.id}' exists; left as it is")
            return
        existed = backend.save_tenant(doc, replace=replace)
    finally:
        backend.close()
    click.echo(f"tenant '{doc.id}' {'updated' if existed else 'created'}: {doc.name}")


@tenant.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(obj: CliContext, as_json: bool) -> None:
    """List tenants with their numbers."""
    backend = obj.backend()
    try:
        tenants = backend.list_tenants()
    finally:
        backend.close()
    if as_json:
        click.echo(msgspec.json.encode(tenants).decode())
        return
    if not tenants:
        click.echo("no tenants yet; add one with: appliance tenant create --from FILE.toml")
        return
    width = max(len(t.id) for t in tenants)
    for t in tenants:
        numbers = ", ".join(t.numbers) or "no numbers"
        click.echo(f"{t.id:<{width}}  {t.name}  ({t.timezone}; {numbers}; {t.services} services)")


@tenant.command("check")
@click.argument("tenant_id", required=False)
@click.option("--from", "source", type=click.Path(path_type=Path), help="Check a tenant file instead.")
@click.pass_obj
def check(obj: CliContext, tenant_id: str | None, source: Path | None) -> None:
    """List where a business's facts contradict each other (two prices for one service). The assistant reads
    both to a caller who asks and offers a message; fix the tenant file or the document. Exits 1 if any."""
    from core.dialogue.facts import FactSheet

    if (tenant_id is None) == (source is None):
        raise click.UsageError("give a tenant id, or --from FILE")
    if source is not None:
        doc = load_tenant_file(source)
    else:
        backend = obj.backend()
        try:
            doc = backend.get_tenant(tenant_id or "")
        finally:
            backend.close()
    conflicts = FactSheet.of(doc).conflicts
    if not conflicts:
        click.echo(f"{doc.id}: no contradictions found in the tenant file")
        return
    for listed, other in conflicts:
        click.echo(f"{doc.id}: two prices for one service:\n  services: {listed.text}\n  FAQ:      {other.spoken}")
    raise SystemExit(1)


@tenant.command("forget-caller")
@click.argument("tenant_id")
@click.argument("number")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget_caller(obj: CliContext, tenant_id: str, number: str, yes: bool) -> None:
    """A data-subject request: delete everything TENANT_ID holds about the caller NUMBER (in any form: +61…, 0…,
    spaces ignored): calls, their recordings, bookings, leads, messages and notifications. It cannot be undone;
    the audit log records that it happened and the counts, not the number."""
    if not yes:
        click.confirm(f"Delete everything {tenant_id} holds about {number}? This cannot be undone", abort=True)
    backend = obj.backend()
    try:
        erased = backend.forget_caller(tenant_id, number)
    finally:
        backend.close()
    counts = ", ".join(f"{count} {kind}" for kind, count in msgspec.to_builtins(erased).items())
    click.echo(f"{tenant_id}: erased {number}: {counts}")
