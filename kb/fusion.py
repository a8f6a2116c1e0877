"""Reciprocal Rank Fusion: a chunk's score is the sum over the legs that found it of 1 / (k + rank)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec
import numpy as np

from models.interfaces import Float32

if TYPE_CHECKING:
    # kb.index loads LanceDB and pyarrow; a Hit read from the server's answer (appliance kb search) needs neither.
    from kb.index import LegHit

RRF_K = 60
Leg = Literal["bm25", "vector"]


class Hit(msgspec.Struct, kw_only=True):
    text: str
    source: str  # the source it was added as (a website's first URL, a file name, "faq")
    location: str  # the page or file the text is from
    title: str
    heading: str
    score: float  # the fused score
    legs: list[Leg]  # which legs found it
    bm25_rank: int | None
    vector_rank: int | None
    similarity: float  # cosine similarity of the chunk to the question


def fuse(bm25: list[LegHit], vector: list[LegHit], limit: int, query: Float32, k: int = RRF_K) -> list[Hit]:
    scores: dict[str, float] = {}
    rows: dict[str, LegHit] = {}
    ranks: dict[str, dict[Leg, LegHit]] = {}
    legs: tuple[tuple[Leg, list[LegHit]], ...] = (("bm25", bm25), ("vector", vector))
    for leg, hits in legs:
        for hit in hits:
            scores[hit.id] = scores.get(hit.id, 0.0) + 1.0 / (k + hit.rank)
            rows.setdefault(hit.id, hit)
            ranks.setdefault(hit.id, {})[leg] = hit
    best = sorted(scores, key=lambda i: (-scores[i], min(h.rank for h in ranks[i].values())))[:limit]
    out = []
    for chunk_id in best:
        row, found = rows[chunk_id].row, ranks[chunk_id]
        out.append(
            Hit(
                text=row["text"],
                source=row["source"],
                location=row["location"],
                title=row["title"],
                heading=row["heading"],
                score=round(scores[chunk_id], 6),
                legs=[leg for leg, _ in legs if leg in found],
                bm25_rank=found["bm25"].rank if "bm25" in found else None,
                vector_rank=found["vector"].rank if "vector" in found else None,
                similarity=round(_similarity(found, query), 4),
            )
        )
    return out


def _similarity(found: dict[Leg, LegHit], query: Float32) -> float:
    if "vector" in found:
        return found["vector"].score
    vector = np.asarray(found["bm25"].row["vector"], dtype=np.float32)
    return float(vector @ query)
