"""Fixtures for the web tests: Debian's Chromium driven by Playwright, and appliance servers on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest
from playwright.async_api import Browser, Page, Playwright, async_playwright

from appliance.runtime import Runtime
from core.store.database import Store
from models.loader import ModelSet
from tests.conftest import settings_for
from tests.web.harness import CHROMIUM, CHROMIUM_ARGS, Served, serve
from tests.web.seed import PASSWORD, Seeded, seed


# Playwright's async API: its sync API runs an event loop of its own in this thread, which would stop every
# asyncio test and fixture of the session that runs after it.
@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    await browser.close()


def fresh_runtime(
    data_dir: Path, models_dir: Path, models: ModelSet | None = None, ice_addresses: list[str] | None = None
) -> Runtime:
    """A runtime on an empty data directory; with ``models``, sharing models already loaded by the session."""
    settings = settings_for(data_dir, models_dir)
    if ice_addresses:
        settings = msgspec.structs.replace(
            settings, web=msgspec.structs.replace(settings.web, ice_addresses=ice_addresses)
        )
    if models is None:
        return Runtime.open(settings)
    return Runtime(settings, Store.open(settings.store_path), models)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[tuple[Served, Seeded]]:
    """Two businesses with staff of every role, stored calls (one with a recording), a booking and a lead."""
    runtime = fresh_runtime(tmp_path_factory.mktemp("seeded"), models_dir)
    data = seed(runtime)
    with serve(runtime) as served:
        yield served, data
    runtime.close()


async def sign_in(browser: Browser, served: Served, email: str) -> Page:
    """A new browser context signed in as ``email``."""
    context = await browser.new_context(timezone_id="UTC")
    page = await context.new_page()
    await page.goto(f"{served.url}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/login" not in url)
    return page
