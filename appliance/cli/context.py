"""What every subcommand gets: the settings, and a way to reach the store (directly, or through the running
server when one holds the database)."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.cli.backend import Backend, connect
from appliance.settings import Settings


@dataclass
class CliContext:
    settings: Settings

    def backend(self) -> Backend:
        return connect(self.settings)
