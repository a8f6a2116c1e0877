"""Split model files: joined once, verified, trusted while intact, rebuilt when damaged."""

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.assemble import assemble
from models.catalog import PackagePath, SplitFile
from models.errors import ModelError
from models.resolve import resolve


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[SplitFile, bytes]]:
    """Three fake part packages on sys.path, like the model part packages on PyPI."""
    blobs = [os.urandom(1000 + i) for i in range(3)]
    for i, blob in enumerate(blobs, start=1):
        package = tmp_path / "site" / f"fakepart{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(blob)
    sys.path.insert(0, str(tmp_path / "site"))
    whole = b"".join(blobs)
    split = SplitFile(
        tuple(PackagePath(f"fakepart{i}", f"data/part{i:02d}.bin") for i in range(1, 4)),
        "model.gguf",
        hashlib.sha256(whole).hexdigest(),
        "reinstall",
    )
    yield split, whole
    sys.path.remove(str(tmp_path / "site"))


def test_joins_verifies_and_reuses(parts: tuple[SplitFile, bytes], tmp_path: Path) -> None:
    split, whole = parts
    target = assemble(split, tmp_path / "models")
    assert target.read_bytes() == whole
    stamp_before = target.stat().st_mtime_ns
    assert assemble(split, tmp_path / "models") == target
    assert target.stat().st_mtime_ns == stamp_before  # intact: not written again


def test_damaged_file_is_rebuilt(parts: tuple[SplitFile, bytes], tmp_path: Path) -> None:
    split, whole = parts
    target = assemble(split, tmp_path / "models")
    target.write_bytes(b"garbage")
    assert assemble(split, tmp_path / "models").read_bytes() == whole


def test_wrong_digest_is_refused(parts: tuple[SplitFile, bytes], tmp_path: Path) -> None:
    split, _ = parts
    bad = SplitFile(split.parts, split.filename, "0" * 64, "reinstall")
    with pytest.raises(ModelError, match="damaged"):
        assemble(bad, tmp_path / "models")
    assert not (tmp_path / "models" / "model.gguf").exists()


def test_model_choice_is_a_catalog_name_or_a_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="neither a known llm model"):
        resolve("llm", str(tmp_path / "missing.gguf"), tmp_path)
    with pytest.raises(ModelError, match="is a tts model, not a llm model"):
        resolve("llm", "piper-en_US-joe-medium", tmp_path)
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"x")
    assert resolve("llm", str(own), tmp_path).path == own
