"""Shared fixtures. Real models are loaded once per test session and shared by every test that needs them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from appliance import logs
from appliance.runtime import Runtime
from appliance.settings import Settings, load_settings
from core.tenants.document import load_tenant_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TENANT = ROOT / "examples" / "tenants" / "example.toml"
TENANTS = ROOT / "tests" / "data" / "tenants"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Assembled model files, shared by the session (and by subprocesses through APPLIANCE_MODELS__DIR)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def sounds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sounds")


def settings_for(data_dir: Path, models_dir: Path, **env: str) -> Settings:
    base = {"APPLIANCE_DATA_DIR": str(data_dir), "APPLIANCE_MODELS__DIR": str(models_dir)}
    return load_settings(None, {**base, **env})


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Runtime]:
    """One appliance runtime for the session, with the example tenant and the test tenants."""
    logs.configure("info", None)
    settings = settings_for(tmp_path_factory.mktemp("data"), models_dir)
    runtime = Runtime.open(settings)
    for path in [EXAMPLE_TENANT, *sorted(TENANTS.glob("*.toml"))]:
        runtime.tenants.save(load_tenant_file(path), replace=True, actor="test")
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
async def loaded(runtime: Runtime) -> AsyncIterator[Runtime]:
    """The runtime with the call models loaded (the embedder matches questions to the business's facts)."""
    await runtime.models.load(("vad", "turn", "stt", "llm", "tts", "embedder"))
    yield runtime


def cli_env(data_dir: Path, models_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    env.update({"APPLIANCE_DATA_DIR": str(data_dir), "APPLIANCE_MODELS__DIR": str(models_dir), **extra})
    return env
