"""Retrieval: a question in, the best passages out (shared by the API, the CLI and eval).

Modes: ``dense`` (embedding nearest neighbours), ``bm25`` (lexical), ``hybrid`` (both fused by
weighted reciprocal rank fusion), ``hybrid+rerank`` (hybrid, then a second stage re-scores the
best fused candidates and its ranking joins the fusion as a third list). Filters
restrict the candidate chunks before any cut-off; passages with the same normalised text
(syndicated copies) are collapsed to the best-ranked one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from cited.config import MODES, Mode, RetrievalSettings, TimeSettings
from indexer.embedders.base import Embedder
from indexer.filters import Filters
from indexer.index import Hit, Index
from indexer.query_cache import QueryVectors
from indexer.second_stage import SecondStage
from indexer.store import StoredChunk
from service.time.as_of import AsOf
from service.time.policy import TimePlan, TimePolicy

logger = logging.getLogger(__name__)


class UnknownModeError(ValueError):
    pass


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: ``text == article.text[start:end]`` of article ``article_id``."""

    rank: int
    chunk_id: int
    article_id: str
    title: str
    start: int
    end: int
    text: str
    score: float
    #: Cosine of the query and this chunk's vector, whatever the mode ranked by.
    similarity: float = 0.0
    published: str | None = None
    source: str | None = None
    authors: tuple[str, ...] = ()
    #: The freshness factor multiplied into ``score`` (1: none applied).
    freshness: float = 1.0


@dataclass
class Retrieval:
    query: str
    query_vector: np.ndarray
    passages: list[Passage]
    mode: str = "dense"
    timings_ms: dict[str, float] = field(default_factory=dict)
    #: The as-of time, the question's period and the freshness prior applied (None: no time).
    time: TimePlan | None = None


def fuse(rankings: list[tuple[float, list[Hit]]], rrf_k: int) -> list[Hit]:
    """Weighted reciprocal rank fusion: score(d) = sum_r w_r / (rrf_k + rank_r(d))."""
    scores: dict[int, float] = {}
    for weight, hits in rankings:
        for rank, hit in enumerate(hits, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (rrf_k + rank)
    return [Hit(i, s) for i, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))]


def distinct(
    hits: list[Hit], chunks: dict[int, StoredChunk], k: int
) -> list[tuple[Hit, StoredChunk]]:
    """The first ``k`` hits with their chunks, each normalised text (syndicated copies) once."""
    seen: set[str] = set()
    kept: list[tuple[Hit, StoredChunk]] = []
    for hit in hits:
        chunk = chunks.get(hit.chunk_id)
        if chunk is None or chunk.text_hash in seen:
            continue
        seen.add(chunk.text_hash)
        kept.append((hit, chunk))
        if len(kept) == k:
            break
    return kept


class Retriever:
    """Ranks the chunks of one index version for a query, in any of the :data:`MODES`."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        *,
        mode: str = "hybrid",
        fusion: RetrievalSettings | None = None,
        second_stage: SecondStage | None = None,
        time: TimeSettings | None = None,
    ):
        index.check_model(embedder.name, embedder.dim)
        self.index = index
        self.embedder = embedder
        self.second_stage = second_stage
        self.fusion = fusion or RetrievalSettings()
        self.time = TimePolicy(time)
        #: Why ``hybrid+rerank`` cannot run on this index, or None when it can.
        self.second_stage_unavailable = (
            "no second stage is configured (CITED_RERANKER=none)"
            if second_stage is None
            else second_stage.unavailable(index)
        )
        if mode == "hybrid+rerank" and self.second_stage_unavailable:
            logger.warning(
                "default mode hybrid (not hybrid+rerank): %s", self.second_stage_unavailable
            )
            mode = "hybrid"
        self.mode = self.check_mode(mode)
        self._query_vectors = QueryVectors(embedder.embed_query)

    def clear_cache(self) -> None:
        """Forget cached query vectors (measurements that must pay for every embedding)."""
        self._query_vectors.clear()
        if self.second_stage is not None:
            self.second_stage.clear_cache()

    def embed_query(self, query: str) -> np.ndarray:
        """The query's vector, from a small LRU cache for repeated questions."""
        return self._query_vectors.get(query)

    def check_mode(self, mode: str) -> str:
        if mode not in MODES:
            raise UnknownModeError(
                f"unknown retrieval mode {mode!r}; valid modes: {', '.join(MODES)}"
            )
        mode = Mode(mode).value
        if mode == "hybrid+rerank" and self.second_stage_unavailable:
            raise UnknownModeError(
                f"mode 'hybrid+rerank' is not available: {self.second_stage_unavailable}"
            )
        return mode

    @property
    def modes(self) -> list[str]:
        """The modes this index and configuration can run."""
        return [m for m in MODES if m != "hybrid+rerank" or not self.second_stage_unavailable]

    def search(
        self,
        query: str,
        k: int,
        mode: str | None = None,
        filters: Filters | None = None,
        as_of: AsOf | None = None,
    ) -> Retrieval:
        """The best ``k`` passages for ``query`` as of ``as_of`` (None: now): nothing published
        later is retrieved, and the freshness prior orders the candidates last."""
        mode = self.check_mode(mode or self.mode)
        started = time.perf_counter()
        plan = self.time.plan(query, as_of)
        planned_ms = (time.perf_counter() - started) * 1e3
        hits, vector, timings = self.ranked(query, k, mode, filters, plan)
        timings = {"time": planned_ms, **timings}
        clock = time.perf_counter()
        hits = self.fresh(plan, hits, cosine=mode == "dense")
        now = time.perf_counter()
        timings["freshness"] = (now - clock) * 1e3
        passages = self.passages(hits, k, vector)
        timings["fetch"] = (time.perf_counter() - now) * 1e3
        return Retrieval(query, vector, passages, mode, timings, plan)

    def ranked(
        self, query: str, k: int, mode: str, filters: Filters | None, plan: TimePlan
    ) -> tuple[list[Hit], np.ndarray, dict[str, float]]:
        """Every candidate of ``mode`` that ``filters`` and the as-of cut of ``plan`` allow,
        best first, before the freshness prior; with the query vector and the timings."""
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[name] = (now - clock) * 1e3
            clock = now

        allowed = self.index.allowed(
            filters, TimePolicy.visible_before(plan, self.index.dates.latest)
        )
        lap("filter")
        vector = self.embed_query(query)
        lap("embed_query")
        # Fetch more than k so that collapsed duplicates still leave k passages; the freshness
        # prior re-orders a deeper pool, as fusion does.
        deep = mode in ("hybrid", "hybrid+rerank") or plan.freshness.active
        depth = max(k * 2 + 10, self.fusion.candidates if deep else 0)
        hits: list[Hit]
        if mode == "dense":
            hits = self.index.dense(vector, depth, allowed)
            lap("dense")
        elif mode == "bm25":
            hits = self.index.bm25(query, depth, allowed)
            lap("bm25")
        else:
            dense = self.index.dense(vector, depth, allowed)
            lap("dense")
            lexical = self.index.bm25(query, depth, allowed)
            lap("bm25")
            rankings = [(self.fusion.dense_weight, dense), (self.fusion.bm25_weight, lexical)]
            hits = fuse(rankings, self.fusion.rrf_k)
            lap("fusion")
            if mode == "hybrid+rerank":
                hits = fuse(
                    [
                        *rankings,
                        (self.fusion.rerank_weight, self.second_stage_ranking(query, hits)),
                    ],
                    self.fusion.rrf_k,
                )
                lap("rerank")
        return hits, vector, timings

    def fresh(self, plan: TimePlan, hits: list[Hit], *, cosine: bool = False) -> list[Hit]:
        """``hits`` re-ordered by the freshness prior of ``plan`` (the last ranking step)."""
        if not plan.freshness.active or not hits:
            return hits
        ids = [h.chunk_id for h in hits]
        times = self.index.dates.times_of(ids)
        ranked = TimePolicy.rerank(plan, ids, [h.score for h in hits], times, cosine=cosine)
        return [Hit(i, s, f) for i, s, f in ranked]

    def second_stage_ranking(self, query: str, hits: list[Hit]) -> list[Hit]:
        """The second stage's ranking of the first ``rerank_depth`` fused hits."""
        assert self.second_stage is not None
        return self.second_stage.ranking(query, self.index, hits, self.fusion.rerank_depth)

    def passages(self, hits: list[Hit], k: int, vector: np.ndarray) -> list[Passage]:
        """The first ``k`` hits as passages, each normalised text once."""
        kept = distinct(hits, self.index.chunks([h.chunk_id for h in hits]), k)
        similarity = self.index.chunk_vectors([c.id for _, c in kept]) @ vector
        return [
            Passage(
                rank=rank,
                chunk_id=chunk.id,
                article_id=chunk.article_id,
                title=chunk.title,
                start=chunk.start,
                end=chunk.end,
                text=chunk.text,
                score=hit.score,
                similarity=float(sim),
                published=chunk.published,
                source=chunk.source,
                authors=chunk.authors,
                freshness=hit.factor,
            )
            for rank, ((hit, chunk), sim) in enumerate(zip(kept, similarity, strict=True), start=1)
        ]
