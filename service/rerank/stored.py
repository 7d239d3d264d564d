"""Second stage from stored vectors: a stronger model embedded every article's lead at index
time (:mod:`indexer.leads`); at query time only the question is encoded, then one dot product
per candidate. Re-encoding 100 candidates with the stronger model would take seconds on 2 cores.
"""

from __future__ import annotations

import numpy as np

from indexer.embedders.base import TextEncoder
from indexer.index import Index
from service.query_cache import QueryVectors
from service.rerank.base import Reranker


class StoredVectorReranker(Reranker):
    """Cosine of the question (encoded by ``encoder``) and each candidate's stored lead vector."""

    def __init__(self, encoder: TextEncoder):
        self.encoder = encoder
        self.name = f"stored-vectors:{encoder.name}"
        self._queries = QueryVectors(
            lambda query: np.asarray(encoder.embed_query(query), dtype=np.float32)
        )

    @property
    def index_encoder(self) -> TextEncoder:
        return self.encoder

    def unavailable(self, index: Index) -> str | None:
        info = index.manifest.rerank
        if info is None:
            return (
                f"index version {index.version} has no second-stage vectors (it was built with "
                "CITED_RERANKER=none); rebuild it with `cited index --force PATH...`"
            )
        if info.model != self.encoder.name or info.dim != self.encoder.dim:
            return (
                f"index version {index.version} holds second-stage vectors of {info.model!r} "
                f"({info.dim}-d), but the configured second stage is {self.encoder.name!r} "
                f"({self.encoder.dim}-d)"
            )
        return None

    def query_vector(self, query: str) -> np.ndarray:
        return self._queries.get(query)

    def clear_cache(self) -> None:
        self._queries.clear()

    def scores(self, query: str, index: Index, chunk_ids: list[int]) -> np.ndarray:
        if not chunk_ids:
            return np.zeros(0, dtype=np.float32)
        return index.rerank_vectors(chunk_ids) @ self.query_vector(query)
