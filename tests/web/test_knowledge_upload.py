"""A knowledge upload over the API (``PUT /api/v1/kb/{tenant}/files/{name}``) goes to a temporary file as it
arrives, never whole into memory, and one over ``kb.max_file_mb`` is refused with 413 as soon as it passes the
limit, with nothing kept. A real server (uvicorn on loopback, in this process) so that the test can look into the
upload directory while the body is still being sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from appliance.runtime import Runtime
from core.tenants.document import load_tenant_file
from tests.conftest import EXAMPLE_TENANT, settings_for
from tests.web.harness import Served, serve

LIMIT = 1 << 20  # kb.max_file_mb = 1
PIECE = 64 << 10
NOTES = b"# Boilers\n## Servicing\nAn annual boiler service is 149 dollars, gas licence GL-99812.\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Served]:
    settings = settings_for(tmp_path_factory.mktemp("upload"), models_dir, APPLIANCE_KB__MAX_FILE_MB="1")
    runtime = Runtime.open(settings)
    runtime.tenants.save(load_tenant_file(EXAMPLE_TENANT), replace=True, actor="test")
    with serve(runtime) as server:
        yield server
    runtime.close()


def _client(served: Served) -> httpx.Client:
    headers = {"Authorization": f"Bearer {served.cli_token}"}
    return httpx.Client(base_url=served.url, headers=headers, trust_env=False, timeout=60)


def _uploads(served: Served) -> Path:
    return served.runtime.settings.kb_path / "uploads"


def _sizes(served: Served) -> list[int]:
    folder = _uploads(served)
    return [p.stat().st_size for p in folder.iterdir()] if folder.is_dir() else []


def test_an_upload_is_on_disk_as_it_arrives_and_is_ingested(served: Served) -> None:
    half = NOTES + b"\n" + b"Spare parts are ordered on the day.\n" * 2000  # about 70 kB
    seen: list[int] = []

    def body() -> Iterator[bytes]:
        yield half
        # The body is half sent: the server holds what came so far in a file, not in memory.
        deadline = time.monotonic() + 10
        while sum(_sizes(served)) < len(half) and time.monotonic() < deadline:
            time.sleep(0.05)
        seen.extend(_sizes(served))
        yield b"\nThe office is closed on public holidays.\n"

    with _client(served) as client:
        started = client.put("/api/v1/kb/example/files/boilers.md", content=body())
        assert started.status_code == 202, started.text
        assert seen == [len(half)], "the half-sent body is not in a file under the upload directory"
        job = started.json()["id"]
        deadline = time.monotonic() + 300
        while (state := client.get(f"/api/v1/kb/example/jobs/{job}").json())["state"] == "running":
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert state["state"] == "done", state
        sources = {s["source"] for s in client.get("/api/v1/kb/example").json()["sources"]}
        assert "boilers.md" in sources
        hits = client.get("/api/v1/kb/example/search", params={"q": "GL-99812"}).json()
        assert "149 dollars" in hits[0]["text"]
    assert _sizes(served) == [], "the upload file is removed once ingested"


def test_an_upload_over_the_limit_is_refused_with_413_as_it_passes_it(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    offered = 32 * LIMIT
    sent = 0
    largest = 0
    refused_while_sending: list[bool] = []

    def refusal_logged() -> bool:
        return any("knowledge upload big.txt for tenant example refused" in r.getMessage() for r in caplog.records)

    def body() -> Iterator[bytes]:  # no length declared: the limit is applied to what arrives
        nonlocal sent, largest
        while sent < offered:
            largest = max([largest, *_sizes(served)])
            if sent == offered // 2:
                # Half the body sent, sixteen times the limit: the server has refused it already and removed
                # what it had; the rest goes nowhere (uvicorn reads and drops it, so that the client, still
                # sending, can read the 413 rather than find the connection reset).
                deadline = time.monotonic() + 10
                while not (refusal_logged() and _sizes(served) == []) and time.monotonic() < deadline:
                    time.sleep(0.05)
                refused_while_sending.append(refusal_logged() and _sizes(served) == [])
            sent += PIECE
            yield b"a" * PIECE

    with _client(served) as client:
        refused = client.put("/api/v1/kb/example/files/big.txt", content=body())
        assert refused.status_code == 413, refused.text
        assert refused.json()["detail"] == "big.txt: over the limit of 1 MB (kb.max_file_mb); nothing was kept"
        assert refused_while_sending == [True], "not refused, or the upload file not removed, by half-way"
        assert largest <= LIMIT, "the upload file grew past the limit"
        assert _sizes(served) == [], "nothing of a refused upload is kept"

        declared = client.put("/api/v1/kb/example/files/declared.txt", content=b"a" * (2 * LIMIT))
        assert declared.status_code == 413 and "declared.txt: over the limit of 1 MB" in declared.json()["detail"]
        assert _sizes(served) == []
        listed = {s["source"] for s in client.get("/api/v1/kb/example").json()["sources"]}
        assert not listed & {"big.txt", "declared.txt"}
    line = next(r.getMessage() for r in caplog.records if "knowledge upload big.txt" in r.getMessage())
    assert "kb.max_file_mb (1.0 MB)" in line and "raise it in the settings" in line
