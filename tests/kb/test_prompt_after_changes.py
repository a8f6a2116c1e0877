"""New knowledge changes a business's prompt, which the LLM then evaluates again in the background. Files added
one after another make one evaluation, after the last; one already running for an earlier change is stopped,
since its prompt is being replaced and it would only take the LLM from calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import msgspec
import pytest

from appliance.runtime import Runtime
from core.tenants.document import parse_tenant
from kb.base import KnowledgeBase

TENANT = {"id": "kb-five", "name": "Harbour Kayaks", "timezone": "Australia/Sydney", "numbers": ["+61295550188"]}
NOTES = [f"Note {i}: our kayak tour number {i} leaves from the north jetty at {8 + i} am.".encode() for i in range(5)]


class _Prompts:
    """The hook the app gives the KB (``Runtime.warm_tenant``), standing in for a long evaluation: it runs until
    ``release`` is set, recording which started, finished and were stopped."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.stopped: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, tenant_id: str) -> None:
        self.started.append(tenant_id)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.stopped.append(tenant_id)
            raise
        self.finished.append(tenant_id)


@pytest.fixture
async def kb(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KnowledgeBase]:
    runtime.tenants.save(parse_tenant(TENANT), replace=True, actor="test")
    settings = msgspec.structs.replace(runtime.settings.kb, change_settle_s=0.5)
    base = KnowledgeBase(
        settings, runtime.store, runtime.tenants, runtime.models, tmp_path_factory.mktemp("kb"), llm_context=4096
    )
    yield base
    await base.close()


async def test_five_files_in_a_row_make_one_evaluation_after_the_last(kb: KnowledgeBase) -> None:
    prompts = _Prompts()
    kb.on_change.append(prompts)
    for i, note in enumerate(NOTES):
        await kb.add_file("kb-five", f"note-{i}.txt", note)
    await asyncio.sleep(1.0)
    assert prompts.started == ["kb-five"]
    prompts.release.set()
    await asyncio.sleep(0.1)
    assert prompts.finished == ["kb-five"] and not prompts.stopped
    assert "note 4" in (kb.inline("kb-five") or "").lower()


async def test_a_change_stops_the_evaluation_of_the_prompt_it_replaces(
    kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    prompts = _Prompts()
    kb.on_change.append(prompts)
    await kb.add_file("kb-five", "note-0.txt", NOTES[0])
    await asyncio.sleep(1.0)  # settled: the first evaluation is running
    assert prompts.started == ["kb-five"]
    with caplog.at_level(logging.INFO):
        await kb.add_file("kb-five", "note-1.txt", NOTES[1])
    await asyncio.sleep(0.1)
    assert prompts.stopped == ["kb-five"]
    assert "knowledge of tenant kb-five changed again; preparing its prompt starts over" in caplog.text
    await asyncio.sleep(1.0)
    assert prompts.started == ["kb-five", "kb-five"]
    prompts.release.set()
    await asyncio.sleep(0.1)
    assert prompts.finished == ["kb-five"]


async def test_a_failing_evaluation_is_logged_and_the_knowledge_stays(
    kb: KnowledgeBase, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(tenant_id: str) -> None:
        raise RuntimeError("llm prefill failed")

    kb.on_change.append(broken)
    with caplog.at_level(logging.ERROR):
        await kb.add_file("kb-five", "note-2.txt", NOTES[2])
        await asyncio.sleep(1.0)
    assert "after the knowledge of tenant kb-five changed, preparing its prompt failed" in caplog.text
    assert "north jetty" in (kb.inline("kb-five") or "")
