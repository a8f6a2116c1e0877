"""The ``appliance`` command. Nothing imports this package: it only turns arguments into calls on the rest.

Its modules import at their top only what parsing the arguments needs; what a command works with is imported
inside the command, so that ``--help`` and the commands sent to the running server start at once instead of
loading the whole application first (tests/appliance/test_cli_startup.py checks it).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from appliance.cli.call import call
from appliance.cli.context import CliContext
from appliance.cli.evaluate import evaluate
from appliance.cli.kb import kb
from appliance.cli.models import models
from appliance.cli.serve import serve
from appliance.cli.sip import sip
from appliance.cli.tenant import tenant
from appliance.settings import load_settings
from core.errors import ApplianceError
from models.errors import ModelError

log = logging.getLogger("appliance.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (default: $APPLIANCE_CONFIG, else ./appliance.toml if present).",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """An AI phone receptionist that runs on this box."""
    from appliance import logs  # structlog, with rich for its console: not needed to print the help

    settings = load_settings(config)
    # Commands other than serve keep the terminal for their own output; their log still goes to the file.
    console = None if ctx.invoked_subcommand == "serve" else "warning"
    logs.configure(
        settings.log_level,
        settings.log_path,
        console_level=console,
        caller_words=settings.logging.caller_words,
        keep_days=settings.logging.keep_days,
    )
    ctx.obj = CliContext(settings)


cli.add_command(tenant)
cli.add_command(call)
cli.add_command(serve)
cli.add_command(models)
cli.add_command(kb)
cli.add_command(sip)
cli.add_command(evaluate)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (ApplianceError, ModelError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        log.exception("unexpected failure")
        click.echo(
            f"error: unexpected failure ({type(exc).__name__}: {exc}); details are in the log "
            "(data directory, logs/appliance.jsonl)",
            err=True,
        )
        sys.exit(1)
