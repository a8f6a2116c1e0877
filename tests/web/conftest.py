"""Fixtures for the web tests: Debian's Chromium driven by Playwright, and appliance servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from appliance.runtime import Runtime
from appliance.store.database import Store
from models.loader import ModelSet
from tests.conftest import settings_for
from tests.web.harness import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def fresh_runtime(data_dir: Path, models_dir: Path, models: ModelSet | None = None, **env: str) -> Runtime:
    """A runtime on an empty data directory; with ``models``, sharing models already loaded by the session."""
    settings = settings_for(data_dir, models_dir, **env)
    if models is None:
        return Runtime.open(settings)
    return Runtime(settings, Store.open(settings.store_path), models)
