"""Knowledge base benchmark: retrieval quality on a QA set over a website written for it, search latency at
scale, ingest throughput. Prints a table and writes bench/results/kb.json.

    python -m bench.kb [--sizes 1000,10000,100000] [--runs 3]

Quality: the website in bench/data/vet_site (a veterinary clinic) is served on 127.0.0.1 and ingested through
the real pipeline (crawl, extraction, chunking, embedding, LanceDB); each question of bench/data/vet_qa.json
counts as found when a returned chunk contains its answer. Latency: synthetic chunks (random text from a
vocabulary, random unit vectors) at each size; one search is both legs run concurrently plus the fusion, the
question already embedded (the embedding is timed on its own).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from appliance import logs
from appliance.settings import load_settings
from bench.common import ROOT, percentile, save_results
from core.store.database import Store
from core.store.tenants import TenantRepository
from core.tenants.document import parse_tenant
from kb.base import MIN_WINDOW, KnowledgeBase
from kb.fusion import fuse
from kb.index import Index, LegHit, rows_table, table_name
from models.loader import ModelSet

DATA = ROOT / "bench" / "data"
TENANT = {
    "id": "bench-vet",
    "name": "Northgate Veterinary Clinic",
    "timezone": "Europe/London",
    "numbers": ["+441422555310"],
}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_site() -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(DATA / "vet_site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _rate(figures: dict[str, int], seconds: float) -> dict[str, float]:
    return {**figures, "seconds": round(seconds, 2), "chunks_per_s": round(figures["chunks"] / seconds, 1)}


def _table(kb: KnowledgeBase) -> str:
    table = kb.summary("bench-vet").knowledge.table_name
    assert table is not None
    return table


def relevant(hit: LegHit | Any, answer: str) -> bool:
    row = hit.row if isinstance(hit, LegHit) else {"heading": hit.heading, "text": hit.text}
    return answer.lower() in f"{row['heading']}\n{row['text']}".lower()


async def quality(kb: KnowledgeBase, index: Index, table: str) -> dict[str, dict[str, Any]]:
    """Each leg alone (its top 5) and the hybrid search as calls use it."""
    qa = json.loads((DATA / "vet_qa.json").read_text())
    embedder = kb._models.embedder()
    ranks: dict[str, list[int | None]] = {"bm25": [], "vector": [], "hybrid": []}
    for item in qa:
        query = (await embedder.embed([item["q"]]))[0]
        by_text = await index.text_leg(table, item["q"], 5)
        by_vector = await index.vector_leg(table, query, 5)
        fused = await kb.hits(TENANT["id"], item["q"], 5)
        for leg, hits in (("bm25", by_text), ("vector", by_vector), ("hybrid", fused)):
            ranks[leg].append(next((i for i, h in enumerate(hits, start=1) if relevant(h, item["a"])), None))
    return {
        leg: {
            "questions": len(found),
            "recall_at_5": round(sum(r is not None for r in found) / len(found), 3),
            "mrr": round(sum(1 / r for r in found if r is not None) / len(found), 3),
            "missed": [qa[i]["q"] for i, r in enumerate(found) if r is None],
        }
        for leg, found in ranks.items()
    }


def synthetic(n: int, rng: np.random.Generator) -> tuple[dict[str, list[Any]], np.ndarray]:
    vocabulary = [
        w.strip(".,:;()£?") for w in " ".join(p.read_text() for p in (DATA / "vet_site").glob("*.html")).split()
    ]
    vocabulary = sorted({w.lower() for w in vocabulary if w.isalpha() and len(w) > 2})
    weights = 1.0 / np.arange(1, len(vocabulary) + 1)  # Zipf-like word frequencies
    weights /= weights.sum()
    words = rng.choice(len(vocabulary), size=(n, 160), p=weights)
    texts = [" ".join(vocabulary[w] for w in row) for row in words]
    vectors = rng.standard_normal((n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = {"id": [f"s{i}" for i in range(n)], "source": ["synthetic"] * n, "location": ["synthetic"] * n,
            "title": ["Synthetic"] * n, "heading": [""] * n, "text": texts}  # fmt: skip
    return rows, vectors


async def latency(index: Index, sizes: list[int], runs: int, queries: list[str], embedder: Any) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    out = []
    vectors = await embedder.embed(queries)
    for n in sizes:
        rows, chunk_vectors = synthetic(n, rng)
        name = table_name("bench-scale")
        started = time.perf_counter()
        index.build(name, rows_table(rows, chunk_vectors))
        build_s = time.perf_counter() - started
        p50s, p95s = [], []
        for _ in range(runs):
            times = []
            for question, vector in zip(queries, vectors, strict=True):
                t = time.perf_counter()
                by_text, by_vector = await asyncio.gather(
                    index.text_leg(name, question, MIN_WINDOW), index.vector_leg(name, vector, MIN_WINDOW)
                )
                fuse(by_text, by_vector, 5, vector)
                times.append((time.perf_counter() - t) * 1000)
            p50s.append(statistics.median(times))
            p95s.append(percentile(times, 0.95))
        index.drop(name)
        out.append({"chunks": n, "build_s": round(build_s, 1), "p50_ms": round(statistics.median(p50s), 1),
                    "p95_ms": round(statistics.median(p95s), 1), "runs": runs, "queries": len(queries)})  # fmt: skip
        print(
            f"  {n} chunks: p50 {out[-1]['p50_ms']} ms, p95 {out[-1]['p95_ms']} ms (build {build_s:.0f} s)", flush=True
        )
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logs.configure("warning", None)
    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    settings = load_settings(
        None, {"APPLIANCE_DATA_DIR": str(work), **{k: v for k, v in os.environ.items() if k == "APPLIANCE_MODELS__DIR"}}
    )
    kb_settings = msgspec.structs.replace(settings.kb, allow_hosts=["127.0.0.1"])
    store = Store.open(work / "bench.duckdb")
    tenants = TenantRepository(store)
    tenants.save(parse_tenant(TENANT), replace=True, actor="bench")
    models = ModelSet(settings.models, settings.models_path)
    await models.load(("embedder", "llm"))
    kb = KnowledgeBase(kb_settings, store, tenants, models, work / "kb", llm_context=settings.models.llm_context)

    server, url = serve_site()
    started = time.perf_counter()
    info = await kb.add_website("bench-vet", url, depth=2, max_pages=50)
    site_s = time.perf_counter() - started
    server.shutdown()
    print(f"site: {info.pages} pages, {info.chunks} chunks in {site_s:.1f} s", flush=True)
    scores = await quality(kb, kb._index, _table(kb))

    # Ingest throughput on a larger document: text drawn from the site's vocabulary.
    rng = np.random.default_rng(3)
    # 200 sections of about 240 LLM tokens: each one a full-size chunk.
    paragraphs = [" ".join(synthetic(1, rng)[0]["text"][0].split()[:150]) + "." for _ in range(200)]
    document = "\n\n".join(f"## Topic {i}\n{p}" for i, p in enumerate(paragraphs)).encode()
    started = time.perf_counter()
    big = await kb.add_file("bench-vet", "synthetic.md", document)
    big_s = time.perf_counter() - started
    print(f"document: {big.chunks} chunks in {big_s:.1f} s", flush=True)
    await kb.remove("bench-vet", "synthetic.md")

    embedder = models.embedder()
    queries = [q["q"] for q in json.loads((DATA / "vet_qa.json").read_text())]
    embed_ms = []
    for question in queries:
        t = time.perf_counter()
        await embedder.embed([question])
        embed_ms.append((time.perf_counter() - t) * 1000)
    print("latency:", flush=True)
    scale = await latency(kb._index, [int(s) for s in args.sizes.split(",")], args.runs, queries, embedder)

    result = {
        "quality": scores,
        "latency": scale,
        "query_embedding_ms": {"p50": round(statistics.median(embed_ms), 1), "p95": percentile(embed_ms, 0.95)},
        "ingest": {
            "site": _rate({"pages": info.pages, "chunks": info.chunks}, site_s),
            "document": _rate({"chunks": big.chunks}, big_s),
        },
        "cpu_count": os.cpu_count(),
    }
    save_results("kb", result)
    print(f"\n| {len(queries)} questions, {info.pages} pages, {info.chunks} chunks | recall@5 | MRR |\n|---|---|---|")
    for leg in ("bm25", "vector", "hybrid"):
        print(f"| {leg} | {scores[leg]['recall_at_5']:.3f} | {scores[leg]['mrr']:.3f} |")
    print("\n| chunks | search p50 | search p95 |\n|---|---|---|")
    for row in scale:
        print(f"| {row['chunks']:,} | {row['p50_ms']} ms | {row['p95_ms']} ms |")
    e = result["query_embedding_ms"]
    print(f"\nquestion embedding: p50 {e['p50']} ms, p95 {e['p95']} ms")
    for name, figures in result["ingest"].items():  # type: ignore[attr-defined]
        rate = figures["chunks_per_s"]
        print(f"ingest ({name}): {figures['chunks']} chunks in {figures['seconds']} s = {rate} chunks/s")
    for leg in ("bm25", "vector", "hybrid"):
        if scores[leg]["missed"]:
            print(f"{leg} missed: {scores[leg]['missed']}")


if __name__ == "__main__":
    asyncio.run(main())
