"""Check that a model inside an installed package is the one the catalog names, before it is loaded.

A model's digest covers the files it is made of (``PackageModel.files``: a file, or every regular file under a
folder, recursively), each named by its path relative to the package directory, with ``/`` between parts. It is
the SHA-256 of one line per file, sorted by that path, each line the file's own SHA-256 (lowercase hex), two
spaces, the path and a newline: exactly what ``sha256sum`` prints, so from the package directory
``find model -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`` gives it for a folder.

Hashing every model takes a while, so a verified model gets a stamp in the models directory: the digest, the
package directory, and each file's path, size, modification and change times. While every file still matches
its stamp the model is trusted without hashing it again; a file added, removed or touched (a reinstall, a
package update, a damaged disk) makes the next start hash it again.

A model given as a path in the settings, not a catalog name, is not verified: there is nothing to compare it to.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from models.assemble import file_sha256
from models.catalog import PackageModel, package_dir
from models.errors import ModelError

log = logging.getLogger(__name__)

_FileStat = tuple[str, int, int, int]  # path relative to the package, size, mtime_ns, ctime_ns
_FIX = "reinstall it with `make install`"


def verify_package(model: PackageModel, stamp: Path) -> Path:
    """Return the path to load ``model`` from, once its files match the catalog's digest (or a stamp of it)."""
    try:
        root = package_dir(model.package)
    except ModelError as exc:
        raise ModelError(f"{exc}; {_FIX}") from None
    files = _files(root, model)
    if _stamp_matches(stamp, model.sha256, root, files):
        return root / model.files[0]
    log.info("verifying the files of package %s (%s)", model.package, ", ".join(model.files))
    try:
        found = tree_sha256(root, [path for path, *_ in files])
    except OSError as exc:
        raise ModelError(f"cannot read package {model.package}: {exc.strerror or exc}; {_FIX}") from None
    if found != model.sha256:
        raise ModelError(
            f"the files of package {model.package} ({', '.join(model.files)}) have SHA-256 {found}, expected "
            f"{model.sha256}: the package is damaged or was replaced, {_FIX}"
        )
    _write_stamp(stamp, model.sha256, root, files)
    return root / model.files[0]


def tree_sha256(root: Path, paths: list[str]) -> str:
    """The digest of the files at ``paths`` (relative to ``root``), as this module's docstring defines it."""
    listing = "".join(f"{file_sha256(root / path)}  {path}\n" for path in sorted(paths))
    return hashlib.sha256(listing.encode()).hexdigest()


def model_files(root: Path, model: PackageModel) -> list[str]:
    """Every regular file ``model`` covers, relative to the package directory ``root``."""
    return [path for path, *_ in _files(root, model)]


def _files(root: Path, model: PackageModel) -> list[_FileStat]:
    found: list[_FileStat] = []
    try:
        for covered in model.files:
            top = root / covered
            if not top.exists():
                raise ModelError(f"package {model.package} is installed but has no {covered}; {_FIX}")
            if top.is_dir():
                paths = [Path(d, f) for d, _, names in os.walk(top) for f in names if Path(d, f).is_file()]
            else:
                paths = [top]
            for path in paths:
                stat = path.stat()
                found.append((path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns))
    except OSError as exc:
        raise ModelError(f"cannot read package {model.package}: {exc.strerror or exc}; {_FIX}") from None
    return sorted(found)


def _stamp_matches(stamp: Path, expected: str, root: Path, files: list[_FileStat]) -> bool:
    try:
        saved = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    return bool(
        isinstance(saved, dict)
        and saved.get("sha256") == expected
        and saved.get("package_dir") == str(root)
        and saved.get("files") == [list(f) for f in files]
    )


def _write_stamp(stamp: Path, sha256: str, root: Path, files: list[_FileStat]) -> None:
    """Written whole under a temporary name, then moved into place: two processes or threads may verify at once."""
    text = json.dumps({"sha256": sha256, "package_dir": str(root), "files": [list(f) for f in files]}, indent=1)
    partial = stamp.with_name(f"{stamp.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text)
        partial.replace(stamp)
    except OSError as exc:
        # Verified all the same; the next start hashes it again.
        log.warning("cannot write the stamp %s (%s); the model is verified but will be hashed again", stamp, exc)
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
