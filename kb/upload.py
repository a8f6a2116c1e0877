"""An uploaded file received into a temporary file as it arrives, its size limit applied piece by piece, so that
an upload never sits whole in memory and one over the limit is refused as soon as it passes it, with nothing kept.
The ingest (under the tenant's lock) reads the file afterwards and removes it."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterable
from pathlib import Path
from typing import BinaryIO

from kb.errors import SourceError

log = logging.getLogger(__name__)

_PREFIX = "upload-"
_STALE_S = 3600.0  # an upload file this old at start was left by a process that stopped mid-way


class UploadTooLarge(SourceError):
    """An upload is over ``kb.max_file_mb``; nothing of it was kept."""


def too_large(name: str, limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"{name}: over the limit of {limit >> 20} MB (kb.max_file_mb); nothing was kept")


async def receive(
    pieces: AsyncIterable[bytes], directory: Path, name: str, limit: int, *, declared: int | None = None
) -> Path:
    """Write ``pieces`` to a new file in ``directory`` as they arrive. Past ``limit`` bytes (or a declared length
    over it) the file is removed and ``UploadTooLarge`` raised; so is it on any other failure (the client went
    away). The caller owns the returned file."""
    if declared is not None and declared > limit:
        raise too_large(name, limit)
    path, out = await asyncio.to_thread(_create, directory)
    received = 0
    try:
        with out:
            async for piece in pieces:
                received += len(piece)
                if received > limit:
                    raise too_large(name, limit)
                await asyncio.to_thread(out.write, piece)
    except BaseException:
        discard(path)
        raise
    return path


def discard(path: Path) -> None:
    """Remove an upload file. Not in a thread: it must be done even while the task is being cancelled."""
    path.unlink(missing_ok=True)


def _create(directory: Path) -> tuple[Path, BinaryIO]:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, raw = tempfile.mkstemp(prefix=_PREFIX, dir=directory)  # readable by this user only
    return Path(raw), os.fdopen(fd, "wb")


def remove_stale(directory: Path) -> None:
    """Upload files left by a process that stopped while receiving or before ingesting them."""
    if not directory.is_dir():
        return
    now = time.time()
    for path in directory.glob(f"{_PREFIX}*"):
        try:
            if now - path.stat().st_mtime > _STALE_S:
                path.unlink()
                log.info("removed %s, an upload left by an interrupted ingest", path)
        except OSError:
            continue
