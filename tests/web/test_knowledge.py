"""The knowledge page in a real browser: upload a file, watch the progress reach done, search it.

It needs the knowledge base (``kb``, issue 4) and its API with this app's permissions; until both are on this
branch it is skipped, with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from appliance.runtime import Runtime
from tests.web.conftest import fresh_runtime, sign_in
from tests.web.harness import Served, serve, shot
from tests.web.seed import Seeded, seed

pytest.importorskip("kb.base", reason="the knowledge base (issue 4) is not on this branch yet")

DENTAL = "harbour-dental"
PRICES = """# Harbour Dental price list

## Whitening
In-chair whitening takes 90 minutes and costs $420. Take-home trays are $260.

## Emergency appointments
We keep two emergency slots every weekday at 8:00 and 13:00 for patients in pain.
"""


@pytest.fixture(scope="module")
async def kb_server(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, loaded: Runtime
) -> AsyncIterator[tuple[Served, Seeded]]:
    runtime = fresh_runtime(tmp_path_factory.mktemp("knowledge"), models_dir, models=loaded.models)
    data = seed(runtime)
    with serve(runtime) as served:
        yield served, data
    runtime.store.close()  # not runtime.close(): the models are the session's, shared with later tests


async def test_upload_a_file_and_search_it(browser: Browser, kb_server: tuple[Served, Seeded], tmp_path: Path) -> None:
    served, data = kb_server
    prices = tmp_path / "prices.md"
    prices.write_text(PRICES)
    page = await sign_in(browser, served, data.supervisor)
    await page.goto(f"{served.url}/t/{DENTAL}/knowledge")
    await expect(page.locator("#kb-sources")).to_contain_text("Nothing yet.")
    await page.set_input_files("#kb-files input[type=file]", str(prices))
    await page.get_by_role("button", name="Upload").click()
    job = page.locator("#kb-jobs li").first
    await expect(job).to_have_attribute("data-state", "done", timeout=120_000)
    await expect(job.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    await expect(page.locator("#kb-sources")).to_contain_text("prices.md")
    await page.fill("#kb-search input[name=q]", "how much is whitening")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#kb-hits li").first).to_contain_text("$420")
    await shot(page, "knowledge")
    await page.context.close()
