"""Join split model files into the models directory once, verified by SHA-256.

A verified file gets a stamp beside it (its digest, size and modification time). While the stamp matches the
file, the file is trusted without re-hashing; a file that changed, or a missing one, is assembled again from
its parts into a temporary name and moved into place only when its digest is right.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from pathlib import Path

from models.catalog import SplitFile, package_path
from models.errors import ModelError

log = logging.getLogger(__name__)

_CHUNK = 8 << 20


def assemble(split: SplitFile, model_dir: Path) -> Path:
    """Return the path of the joined file in ``model_dir``, joining and verifying it first if needed."""
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / split.filename
    with _exclusive(model_dir / ".assemble.lock"):
        if _stamp_matches(target, split.sha256):
            return target
        if target.exists() and file_sha256(target) == split.sha256:
            _write_stamp(target, split.sha256)
            return target
        parts = [package_path(part) for part in split.parts]
        log.info("assembling %s from %d parts into %s", split.filename, len(parts), model_dir)
        _join(parts, target, split.sha256)
        _write_stamp(target, split.sha256)
        return target


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _join(parts: list[Path], target: Path, expected: str) -> None:
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected:
            raise ModelError(
                f"{target.name}: joined parts have SHA-256 {digest.hexdigest()}, expected {expected}; "
                "the model packages are damaged, reinstall them"
            )
        partial.replace(target)
    except OSError as exc:
        raise ModelError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp_matches(target: Path, expected: str) -> bool:
    try:
        stat = target.stat()
        stamp = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        return False
    return bool(
        stamp.get("sha256") == expected
        and stamp.get("size") == stat.st_size
        and stamp.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_stamp(target: Path, sha256: str) -> None:
    stat = target.stat()
    stamp = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    _stamp_path(target).write_text(json.dumps(stamp))


class _exclusive:
    """An advisory lock so two processes starting at once do not both assemble the same file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
