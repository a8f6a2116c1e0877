"""``appliance kb``: a tenant's knowledge (website, documents, FAQ): add, list, search, remove, suggest services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

from appliance.cli.context import CliContext
from core.errors import InputError
from core.tenants.document import Service

if TYPE_CHECKING:
    from kb.catalog import SourceInfo
    from kb.progress import OnProgress
    from kb.progress import Progress as IngestProgress

_PHASES = {"queued": "waiting", "fetching": "fetching", "extracting": "extracting", "embedding": "embedding"}
_PHASES |= {"indexing": "indexing", "done": "done", "failed": "failed"}


@click.group()
def kb() -> None:
    """A business's knowledge: its website, documents and FAQ, searched during calls."""


@kb.command("add")
@click.option("--tenant", required=True, help="Tenant id (see: appliance tenant list).")
@click.argument("sources", nargs=-1)
@click.option("--faq", is_flag=True, help="Also add the FAQ text of the tenant file.")
@click.option("--depth", type=click.IntRange(0, 10), default=None, help="Links to follow from a web page.")
@click.option("--max-pages", type=click.IntRange(1, 10_000), default=None, help="Pages to read from a website.")
@click.pass_obj
def add(
    obj: CliContext, tenant: str, sources: tuple[str, ...], faq: bool, depth: int | None, max_pages: int | None
) -> None:
    """Add web addresses (a same-site crawl) and files (PDF, HTML, .txt, .md); adding one again replaces it."""
    if not sources and not faq:
        raise click.UsageError("give at least one URL or file, or --faq")
    files = [(s, Path(s)) for s in sources if not s.startswith(("http://", "https://"))]
    for name, path in files:
        if not path.is_file():
            raise InputError(f"{name}: no such file (web addresses start with http:// or https://)")
        size, limit = path.stat().st_size, obj.settings.kb.max_file_mb
        if size > limit * 2**20:
            raise InputError(f"{name}: {size >> 20} MB is over the limit of {limit:g} MB (kb.max_file_mb)")
    backend = obj.backend()
    failed = 0
    try:
        for source in sources:
            with _bar(source) as report:
                try:
                    if source.startswith(("http://", "https://")):
                        info = backend.kb_add_website(tenant, source, depth, max_pages, report)
                    else:
                        path = Path(source)
                        info = backend.kb_add_file(tenant, path.name, path.read_bytes(), report)
                except InputError as exc:
                    click.echo(f"error: {exc}", err=True)
                    failed += 1
                    continue
            _added(info)
        if faq:
            with _bar("faq") as report:
                _added(backend.kb_add_faq(tenant, report))
        summary = backend.kb_summary(tenant)
    finally:
        backend.close()
    k = summary.knowledge
    click.echo(f"tenant '{tenant}': {k.chunks} chunks, {k.tokens} tokens, mode {k.mode}")
    if failed:
        raise InputError(f"{failed} of {len(sources)} source(s) could not be added (see above)")


@kb.command("list")
@click.option("--tenant", required=True, help="Tenant id.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(obj: CliContext, tenant: str, as_json: bool) -> None:
    """Sources with pages, chunks and last ingest; the mode (inline or retrieval); stale sources."""
    backend = obj.backend()
    try:
        summary = backend.kb_summary(tenant)
    finally:
        backend.close()
    if as_json:
        click.echo(msgspec.json.encode(summary).decode())
        return
    k = summary.knowledge
    if not summary.sources:
        click.echo(
            f"tenant '{tenant}' has no knowledge yet; add some with: appliance kb add --tenant {tenant} URL|FILE"
        )
        return
    click.echo(f"tenant '{tenant}': mode {k.mode}, {k.tokens} tokens, {k.chunks} chunks, updated {k.updated_at}")
    for s in summary.sources:
        state = "ok" if s.status == "ok" else f"STALE since {s.failed_at}: {s.error}"
        click.echo(f"  {s.source}  [{s.kind}] {s.pages} pages, {s.chunks} chunks, ingested {s.ingested_at}; {state}")
        for note in s.notes:
            click.echo(f"      note: {note}")


@kb.command("search")
@click.option("--tenant", required=True, help="Tenant id.")
@click.argument("question")
@click.option("--limit", type=click.IntRange(1, 20), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def search(obj: CliContext, tenant: str, question: str, limit: int, as_json: bool) -> None:
    """The best passages for a question, with source, score and which leg (bm25, vector) found them."""
    backend = obj.backend()
    try:
        hits = backend.kb_search(tenant, question, limit)
    finally:
        backend.close()
    if as_json:
        click.echo(msgspec.json.encode(hits).decode())
        return
    if not hits:
        click.echo("nothing found")
    for rank, hit in enumerate(hits, start=1):
        where = f"{hit.location} | {hit.heading}" if hit.heading else hit.location
        click.echo(f"{rank}. {where}  (score {hit.score:.4f}, found by {' + '.join(hit.legs)})")
        for line in hit.text.splitlines():
            click.echo(f"     {line}")


@kb.command("remove")
@click.option("--tenant", required=True, help="Tenant id.")
@click.argument("source")
@click.pass_obj
def remove(obj: CliContext, tenant: str, source: str) -> None:
    """Remove a source (as shown by kb list) and its chunks."""
    backend = obj.backend()
    try:
        backend.kb_remove(tenant, source)
        summary = backend.kb_summary(tenant)
    finally:
        backend.close()
    click.echo(
        f"removed {source}; tenant '{tenant}' now has {summary.knowledge.chunks} chunks, mode {summary.knowledge.mode}"
    )


@kb.command("services")
@click.option("--tenant", required=True, help="Tenant id.")
@click.option("--accept", is_flag=True, help="Add the suggested services the tenant does not have yet.")
@click.pass_obj
def services(obj: CliContext, tenant: str, accept: bool) -> None:
    """Bookable services suggested from the knowledge, as [[services]] entries for the tenant file."""
    backend = obj.backend()
    added = []
    try:
        suggested = backend.kb_suggest_services(tenant)
        if accept:
            doc = backend.get_tenant(tenant)
            known = {s.name.lower() for s in doc.services}
            added = [s for s in suggested if s.name.lower() not in known]
            doc.services += [
                Service(name=s.name, duration_minutes=s.duration_minutes, price=s.price, description=s.description)
                for s in added
            ]
            backend.save_tenant(doc, replace=True)
    finally:
        backend.close()
    if not suggested:
        click.echo("no bookable services found in the knowledge")
        return
    for s in suggested:
        click.echo("[[services]]")
        click.echo(f"name = {_toml(s.name)}\nduration_minutes = {s.duration_minutes}")
        click.echo(f"price = {_toml(s.price)}\ndescription = {_toml(s.description)}\n")
    if accept:
        click.echo(f"added {len(added)} service(s) to tenant '{tenant}'")


def _toml(text: str) -> str:
    return msgspec.json.encode(text).decode()


def _added(info: SourceInfo) -> None:
    click.echo(f"added {info.source}: {info.pages} pages, {info.chunks} chunks, {info.tokens} tokens")
    for note in info.notes:
        click.echo(f"  note: {note}")


@contextmanager
def _bar(source: str) -> Iterator[OnProgress]:
    # rich is imported with the bar it draws, not with the CLI: `appliance --help` does without it.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.fields[phase]:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(source[-60:], total=None, phase="starting")

        def report(progress: IngestProgress) -> None:
            detail = progress.detail[-60:] if progress.detail else source[-60:]
            bar.update(
                task, completed=progress.done, total=progress.total, description=detail, phase=_PHASES[progress.phase]
            )

        yield report
