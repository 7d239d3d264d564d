"""Retrieval: a question in, the best passages out (shared by the API, the CLI and eval)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from indexer.embedders.base import Embedder
from indexer.index import Index


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


@dataclass
class Retrieval:
    query: str
    query_vector: np.ndarray
    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Dense retrieval over one index version with the model that built it."""

    def __init__(self, index: Index, embedder: Embedder):
        index.check_model(embedder.name, embedder.dim)
        self.index = index
        self.embedder = embedder

    def search(self, query: str, k: int) -> Retrieval:
        started = time.perf_counter()
        vector = self.embedder.embed_query(query)
        embedded = time.perf_counter()
        hits = self.index.search(vector, k)
        done = time.perf_counter()
        passages = [
            Passage(
                rank=rank,
                chunk_id=hit.chunk.id,
                article_id=hit.chunk.article_id,
                title=hit.chunk.title,
                start=hit.chunk.start,
                end=hit.chunk.end,
                text=hit.chunk.text,
                score=hit.score,
            )
            for rank, hit in enumerate(hits, start=1)
        ]
        timings = {"embed_query": (embedded - started) * 1e3, "search": (done - embedded) * 1e3}
        return Retrieval(query, vector, passages, timings)
