"""``appliance models``: the models this box knows, and whether they are ready."""

from __future__ import annotations

import click

from appliance.cli.context import CliContext
from models.catalog import CATALOG


@click.group()
def models() -> None:
    """Models: list the catalog, check the configured ones."""


@models.command("list")
@click.pass_obj
def list_(obj: CliContext) -> None:
    """The catalog, marking the models the settings choose."""
    chosen = {getattr(obj.settings.models, spec.role) for spec in CATALOG.values()}
    for spec in CATALOG.values():
        mark = "*" if spec.name in chosen else " "
        click.echo(f"{mark} {spec.role:<8} {spec.name:<24} {spec.description} [{spec.licence}]")


@models.command("check")
@click.pass_obj
def check(obj: CliContext) -> None:
    """Find (and assemble, if needed) every configured model, without loading it."""
    from models.loader import ModelSet  # with numpy and the device probe: not needed to list the catalog

    model_set = ModelSet(obj.settings.models, obj.settings.models_path)
    for model in model_set.resolve_all():
        click.echo(f"{model.role:<8} {model.name:<24} {model.path}")
    click.echo(f"device: {model_set.device}")
