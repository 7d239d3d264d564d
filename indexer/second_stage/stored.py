"""Second stage from stored vectors: a stronger model embedded every article's lead at index
time (:mod:`indexer.second_stage.leads`); at query time only the question is encoded, then one
dot product per candidate. Re-encoding 100 candidates with the stronger model would take seconds
on 2 cores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from indexer.embedders.base import TextEncoder
from indexer.query_cache import QueryVectors
from indexer.second_stage.base import SecondStage
from indexer.second_stage.leads import DEFAULT_LEAD_CHARS, StoredLeads

if TYPE_CHECKING:
    from indexer.index import Index


class StoredVectorSecondStage(SecondStage):
    """Cosine of the question (encoded by ``encoder``) and each candidate's stored lead vector;
    the indexer stores ``encoder``'s vectors of leads of ``lead_chars`` body characters."""

    def __init__(self, encoder: TextEncoder, lead_chars: int = DEFAULT_LEAD_CHARS):
        self.encoder = encoder
        self.name = f"stored-vectors:{encoder.name}"
        self._stored = StoredLeads(encoder, lead_chars)
        self._queries = QueryVectors(
            lambda query: np.asarray(encoder.embed_query(query), dtype=np.float32)
        )

    @property
    def stored(self) -> StoredLeads:
        return self._stored

    def unavailable(self, index: Index) -> str | None:
        record = index.manifest.second_stage
        if record is None:
            return (
                f"index version {index.version} has no second-stage vectors (it was built with "
                "CITED_RERANKER=none); rebuild it with `cited index --force PATH...`"
            )
        if record.model != self.encoder.name or record.dim != self.encoder.dim:
            return (
                f"index version {index.version} holds second-stage vectors of {record.model!r} "
                f"({record.dim}-d), but the configured second stage is {self.encoder.name!r} "
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
        return index.second_stage_vectors(chunk_ids) @ self.query_vector(query)
