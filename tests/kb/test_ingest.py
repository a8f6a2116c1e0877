"""Ingesting a website served by the test on 127.0.0.1, and searching it: the facts are found, each leg finds
what it is good at, failures keep the previous knowledge, tenants never see each other's text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import msgspec
import pytest

from appliance.runtime import Runtime
from core.tenants.document import parse_tenant
from kb.base import KnowledgeBase
from kb.errors import IngestBusy, SourceError
from kb.progress import Progress
from tests.kb.site import Route, Site, bike_shop, broken_transfer, gzip_bomb, pdf, serve

BIKES = {"id": "kb-bikes", "name": "Spokes & Sprockets", "timezone": "Europe/London", "numbers": ["+441134960721"]}
BIKES["faq"] = "Do you sell bikes? No, we only repair them."
OTHER = {"id": "kb-other", "name": "Lakeside Piano Tuning", "timezone": "Europe/London", "numbers": ["+441134960999"]}


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve(bike_shop(Site())) as served:
        yield served


@pytest.fixture(scope="module")
async def kb(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KnowledgeBase]:
    for raw in (BIKES, OTHER):
        runtime.tenants.save(parse_tenant(raw), replace=True, actor="test")
    settings = msgspec.structs.replace(runtime.settings.kb, allow_hosts=["127.0.0.1"], max_file_mb=5)
    base = KnowledgeBase(
        settings, runtime.store, runtime.tenants, runtime.models, tmp_path_factory.mktemp("kb"), llm_context=4096
    )
    yield base
    await base.close()


@pytest.fixture(scope="module")
async def ingested(kb: KnowledgeBase, site: Site) -> KnowledgeBase:
    seen: list[Progress] = []
    info = await kb.add_website("kb-bikes", site.url + "/", progress=seen.append)
    assert info.status == "ok" and info.pages == 6 and info.kind == "website"
    assert {p.phase for p in seen} >= {"fetching", "extracting", "embedding", "indexing"}
    assert any("robots.txt" in n for n in info.notes)
    assert any("instruction-like" in n for n in info.notes)
    return kb


async def _top(kb: KnowledgeBase, question: str, tenant: str = "kb-bikes") -> str:
    hits = await kb.hits(tenant, question)
    return "\n".join(h.text for h in hits[:3])


async def test_the_website_facts_are_found(ingested: KnowledgeBase, site: Site) -> None:
    assert "£95" in await _top(ingested, "How much does a full service cost?")  # the layout-builder grid
    assert "5 pounds per night" in await _top(ingested, "Can you store my bike while I'm on holiday?")  # the PDF
    assert "20 percent off" in await _top(ingested, "winter offer on servicing")  # the PDF via the redirect
    assert "LS11 5PS" in await _top(ingested, "what is your postcode")  # JSON-LD and the footer
    assert "/old-prices" in site.hits and "/prices" in site.hits and "/files/price-list.pdf" in site.hits
    assert not any(h.startswith("/private") for h in site.hits)  # robots.txt
    assert "WHEELIE50" not in await _top(ingested, "staff discount code")
    everything = "\n".join(h.text for h in await ingested.hits("kb-bikes", "repairs free this week", limit=20))
    assert "all repairs are free" not in everything


async def test_exact_terms_are_found_by_the_bm25_leg(ingested: KnowledgeBase) -> None:
    for term, fact in (("CT2-77841", "Priya Nair"), ("M6100", "Deore")):
        best = (await ingested.hits("kb-bikes", term))[0]
        assert fact in best.text and "bm25" in best.legs and best.bm25_rank == 1


async def test_paraphrases_are_found_by_the_vector_leg(ingested: KnowledgeBase) -> None:
    hits = await ingested.hits("kb-bikes", "can someone mend my flat tire")
    tubes = next(h for h in hits if "inner tubes" in h.text)
    assert tubes.legs == ["vector"]  # no word in common with "Punctured tyre? We replace inner tubes"


async def test_chunks_found_by_both_legs_rank_first(ingested: KnowledgeBase) -> None:
    hits = await ingested.hits("kb-bikes", "hydraulic disc brake bleed price")
    assert hits[0].legs == ["bm25", "vector"] and "£30 per brake" in hits[0].text
    both = [i for i, h in enumerate(hits) if len(h.legs) == 2]
    one = [i for i, h in enumerate(hits) if len(h.legs) == 1]
    assert not one or not both or max(both) < min(one)


async def test_one_tenant_never_finds_another_tenants_text(ingested: KnowledgeBase, tmp_path: Path) -> None:
    assert await ingested.hits("kb-other", "full service price") == []
    await ingested.add_file("kb-other", "tuning.md", b"# Tuning\nA standard piano tuning costs 120 dollars.")
    for question in ("full service price", "CT2-77841", "bike storage"):
        assert all(h.source == "tuning.md" for h in await ingested.hits("kb-other", question))
    assert all(h.source != "tuning.md" for h in await ingested.hits("kb-bikes", "piano tuning costs"))
    await ingested.remove("kb-other", "tuning.md")


async def test_a_page_failing_midway_keeps_the_previous_knowledge_and_marks_it_stale(
    kb: KnowledgeBase, ingested: KnowledgeBase, site: Site
) -> None:
    site.routes["/about"] = Route(handler=broken_transfer)
    try:
        with pytest.raises(SourceError, match=r"broke off.*previous content .* is kept, marked stale"):
            await kb.add_website("kb-bikes", site.url + "/")
    finally:
        bike_shop(site)
    source = next(s for s in kb.summary("kb-bikes").sources if s.source == site.url + "/")
    assert source.status == "stale" and "broke off" in (source.error or "")
    assert "Priya Nair" in await _top(kb, "CT2-77841")  # still searchable
    info = await kb.add_website("kb-bikes", site.url + "/")
    assert info.status == "ok" and info.error is None


async def test_two_ingests_for_one_tenant_do_not_interleave(ingested: KnowledgeBase, site: Site) -> None:
    first = asyncio.create_task(ingested.add_file("kb-bikes", "hours.txt", b"Workshop open late on Thursdays."))
    await asyncio.sleep(0)
    with pytest.raises(IngestBusy, match=r"already being updated \(hours.txt\)"):
        await ingested.add_file("kb-bikes", "other.txt", b"Something else.")
    await first
    assert "late on Thursdays" in await _top(ingested, "are you open late")
    await ingested.remove("kb-bikes", "hours.txt")


async def test_re_adding_a_source_replaces_only_its_chunks(ingested: KnowledgeBase) -> None:
    await ingested.add_file("kb-bikes", "courier.txt", b"Courier collection costs 9 pounds.")
    await ingested.add_file("kb-bikes", "courier.txt", b"Courier collection costs 11 pounds.")
    text = "\n".join(h.text for h in await ingested.hits("kb-bikes", "courier collection cost", limit=20))
    assert "11 pounds" in text and "9 pounds" not in text and "£95" in await _top(ingested, "full service cost")
    await ingested.remove("kb-bikes", "courier.txt")
    assert "courier.txt" not in {s.source for s in ingested.summary("kb-bikes").sources}


async def test_bad_input_gets_a_clear_message_and_loses_nothing(kb: KnowledgeBase, site: Site) -> None:
    before = kb.summary("kb-bikes")
    locked = _encrypted(pdf([["secret"]]))
    site.routes["/archive.zip"] = Route(b"PK\x03\x04", content_type="application/zip")
    site.routes["/klingon"] = Route(b"<p>Qapla</p>", content_type="text/html; charset=x-klingon")
    site.routes["/bomb"] = gzip_bomb(200 << 20)
    site.routes["/big"] = Route(b"x" * (6 << 20), content_type="text/plain")
    site.routes["/down"] = Route(status=503)
    for action, message in (
        (kb.add_file("kb-bikes", "empty.pdf", b""), "the PDF is empty"),
        (kb.add_file("kb-bikes", "locked.pdf", locked), "encrypted with a password"),
        (kb.add_file("kb-bikes", "huge.txt", b"a" * (200 << 20)), "200 MB is over the limit of 5 MB"),
        (kb.add_website("kb-bikes", site.url + "/archive.zip"), r"not a web page, PDF or text \(application/zip\)"),
        (kb.add_website("kb-bikes", site.url + "/klingon"), "unknown text encoding 'x-klingon'"),
        (kb.add_website("kb-bikes", site.url + "/bomb"), "decompresses to over 15 MB"),
        (kb.add_website("kb-bikes", site.url + "/big"), "over the limit of 5 MB"),
        (kb.add_website("kb-bikes", site.url + "/down"), "HTTP 503"),
        (kb.add_website("kb-bikes", "ftp://example.com/"), "not a web address"),
        (kb.add_website("kb-bikes", "http://10.1.1.1/"), "10.1.1.1 is a private address"),
        (kb.add_faq("kb-other"), "has no faq"),
    ):
        with pytest.raises(SourceError, match=message):
            await action
    after = kb.summary("kb-bikes")
    assert [s.source for s in after.sources] == [s.source for s in before.sources]
    assert after.knowledge.table_name == before.knowledge.table_name


async def test_mode_is_inline_when_small_and_retrieval_when_large(kb: KnowledgeBase, site: Site) -> None:
    summary = kb.summary("kb-bikes")
    assert summary.knowledge.mode == "inline" and 0 < summary.knowledge.tokens <= 4000
    inline = kb.inline("kb-bikes") or ""
    assert inline.startswith(f"[{site.url}/]") and '"""' not in inline and "CT2-77841" in inline
    assert "Ignore all previous instructions" not in inline
    kb.settings.inline_tokens = 100
    try:
        await kb.add_faq("kb-bikes")
        assert kb.summary("kb-bikes").knowledge.mode == "retrieval" and kb.inline("kb-bikes") is None
        passages = await kb.search("kb-bikes", "how much is a puncture repair")
        assert passages and any("£12" in p.text for p in passages)
        assert all(p.source.startswith(site.url) or p.source == "faq" for p in passages)
    finally:
        kb.settings.inline_tokens = 4000
        await kb.remove("kb-bikes", "faq")
    assert kb.summary("kb-bikes").knowledge.mode == "inline"


def _encrypted(data: bytes) -> bytes:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt("a-password")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
