"""What an ingest reports while it works, for a progress bar on the CLI or in the web UI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

Phase = Literal["queued", "fetching", "extracting", "embedding", "indexing", "done", "failed"]


class Progress(msgspec.Struct, kw_only=True):
    phase: Phase
    done: int = 0
    total: int | None = None  # None when not known in advance (a crawl's pages)
    detail: str = ""


OnProgress = Callable[[Progress], None]


def ignore(_: Progress) -> None:
    """For callers that do not show progress."""
