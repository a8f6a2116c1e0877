"""Package models: verified against the catalog's SHA-256 before loading, trusted while their stamp matches."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from models.assemble import file_sha256
from models.catalog import CATALOG, ModelSpec, PackageModel, package_dir
from models.config import ModelSettings
from models.errors import ModelError
from models.loader import ModelSet
from models.resolve import resolve
from models.verify import model_files, tree_sha256, verify_package

_VAD = CATALOG["silero-vad"]


@dataclass
class FakePackage:
    """A copy of the Silero VAD package's model file, in a package of its own on sys.path."""

    root: Path
    model: PackageModel
    models_dir: Path

    @property
    def onnx(self) -> Path:
        return self.root / "data" / "silero_vad.onnx"

    @property
    def stamp(self) -> Path:
        return self.models_dir / "silero-vad.verified"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePackage]:
    assert isinstance(_VAD.source, PackageModel)
    name = f"fake_vad_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "site" / name
    (root / "data").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    original = package_dir(_VAD.source.package) / _VAD.source.files[0]
    (root / "data" / "silero_vad.onnx").write_bytes(original.read_bytes())
    sys.path.insert(0, str(tmp_path / "site"))
    model = PackageModel(name, _VAD.source.files, _VAD.source.sha256)  # the real digest: the copy is intact
    monkeypatch.setitem(CATALOG, "silero-vad", ModelSpec("silero-vad", "vad", "test copy", "MIT", model))
    yield FakePackage(root, model, tmp_path / "models")
    sys.path.remove(str(tmp_path / "site"))


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths hashed while verifying, in order."""
    seen: list[str] = []

    def counting(path: Path) -> str:
        seen.append(path.name)
        return file_sha256(path)

    monkeypatch.setattr("models.verify.file_sha256", counting)
    return seen


def _flip_one_byte(path: Path, keep_times: bool = False) -> None:
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    if keep_times:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_an_intact_model_passes_and_is_stamped(fake: FakePackage, hashes: list[str]) -> None:
    resolved = resolve("vad", "silero-vad", fake.models_dir)
    assert resolved.path == fake.onnx and resolved.from_catalog
    assert hashes == ["silero_vad.onnx"]
    stamp = json.loads(fake.stamp.read_text())
    assert stamp["sha256"] == _VAD.source.sha256 and stamp["package_dir"] == str(fake.root)
    assert [entry[:2] for entry in stamp["files"]] == [["data/silero_vad.onnx", fake.onnx.stat().st_size]]

    assert resolve("vad", "silero-vad", fake.models_dir).path == fake.onnx
    assert hashes == ["silero_vad.onnx"]  # the stamp matched: not hashed again


def test_one_byte_changed_is_refused_in_one_plain_sentence(fake: FakePackage) -> None:
    _flip_one_byte(fake.onnx)
    with pytest.raises(ModelError) as refused:
        resolve("vad", "silero-vad", fake.models_dir)
    message = str(refused.value)
    assert message.startswith(f"models.vad: silero-vad: the files of package {fake.model.package} ")
    assert f"expected {_VAD.source.sha256}" in message
    assert message.endswith("the package is damaged or was replaced, reinstall it with `make install`")
    assert "\n" not in message and "Traceback" not in message
    assert not fake.stamp.exists()


def test_the_loader_reports_the_refusal_in_its_status(fake: FakePackage) -> None:
    _flip_one_byte(fake.onnx)
    model_set = ModelSet(ModelSettings(device="cpu"), fake.models_dir)
    with pytest.raises(ModelError, match="reinstall it with `make install`"):
        model_set.vad()
    vad = next(s for s in model_set.status() if s.role == "vad")
    assert vad.state == "failed"
    assert vad.error is not None and vad.error.startswith("models.vad: silero-vad: the files of package")


def test_a_change_after_stamping_is_hashed_again_and_refused(fake: FakePackage, hashes: list[str]) -> None:
    resolve("vad", "silero-vad", fake.models_dir)
    _flip_one_byte(fake.onnx, keep_times=True)  # same size, same mtime: only the change time tells
    with pytest.raises(ModelError, match="damaged or was replaced"):
        resolve("vad", "silero-vad", fake.models_dir)
    assert hashes == ["silero_vad.onnx", "silero_vad.onnx"]


def test_a_touched_or_resized_file_is_hashed_again(fake: FakePackage, hashes: list[str]) -> None:
    resolve("vad", "silero-vad", fake.models_dir)
    stat = fake.onnx.stat()
    os.utime(fake.onnx, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    resolve("vad", "silero-vad", fake.models_dir)  # the same bytes: hashed again, passes, stamped again
    assert hashes == ["silero_vad.onnx", "silero_vad.onnx"]
    assert json.loads(fake.stamp.read_text())["files"][0][2] == stat.st_mtime_ns + 1_000_000_000

    with fake.onnx.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ModelError, match="damaged or was replaced"):
        resolve("vad", "silero-vad", fake.models_dir)
    assert len(hashes) == 3


def test_a_stamp_for_another_digest_is_not_trusted(fake: FakePackage, hashes: list[str]) -> None:
    resolve("vad", "silero-vad", fake.models_dir)
    stamp = json.loads(fake.stamp.read_text())
    fake.stamp.write_text(json.dumps({**stamp, "sha256": "0" * 64}))
    resolve("vad", "silero-vad", fake.models_dir)
    assert len(hashes) == 2


def test_a_folder_digest_covers_every_file_by_its_path(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "model" / "sub").mkdir(parents=True)
    (root / "model" / "b.bin").write_bytes(b"weights")
    (root / "model" / "sub" / "a.json").write_text("{}")
    (root / "other.txt").write_text("not covered")
    folder = PackageModel("pkg", ("model",), "")
    assert model_files(root, folder) == ["model/b.bin", "model/sub/a.json"]
    listing = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {path}\n"
        for path, data in [("model/b.bin", b"weights"), ("model/sub/a.json", b"{}")]
    )
    digest = tree_sha256(root, model_files(root, folder))
    assert digest == hashlib.sha256(listing.encode()).hexdigest()

    (root / "model" / "b.bin").rename(root / "model" / "c.bin")  # same bytes, another name
    assert tree_sha256(root, model_files(root, folder)) != digest


def test_a_file_added_to_a_model_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "site" / f"fake_folder_{uuid.uuid4().hex[:8]}"
    (root / "model").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "model" / "config.json").write_text("{}")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    digest = tree_sha256(root, ["model/config.json"])
    folder = PackageModel(root.name, ("model",), digest)
    assert verify_package(folder, tmp_path / "models" / "x.verified") == root / "model"
    (root / "model" / "extra.py").write_text("print('hi')")
    with pytest.raises(ModelError, match="damaged or was replaced"):
        verify_package(folder, tmp_path / "models" / "x.verified")


def test_a_missing_package_names_the_fix(tmp_path: Path) -> None:
    missing = PackageModel(f"no_such_package_{uuid.uuid4().hex[:8]}", ("model",), "0" * 64)
    with pytest.raises(ModelError, match=r"is not installed; reinstall it with `make install`"):
        verify_package(missing, tmp_path / "x.verified")


def test_a_path_from_the_settings_is_not_verified(tmp_path: Path, hashes: list[str]) -> None:
    own = tmp_path / "my_vad.onnx"
    own.write_bytes(b"not checked")
    resolved = resolve("vad", str(own), tmp_path / "models")
    assert resolved.path == own and not resolved.from_catalog
    assert hashes == [] and not (tmp_path / "models").exists()


def test_the_catalog_digests_match_the_installed_packages(tmp_path: Path) -> None:
    """Fails when a package update changes a model's files: check the new weights, then update the catalog."""
    for spec in CATALOG.values():
        if isinstance(spec.source, PackageModel):
            root = package_dir(spec.source.package)
            assert tree_sha256(root, model_files(root, spec.source)) == spec.source.sha256, spec.name
            assert resolve(spec.role, spec.name, tmp_path).path == root / spec.source.files[0]
            assert (tmp_path / f"{spec.name}.verified").exists()
