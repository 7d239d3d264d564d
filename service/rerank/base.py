"""The reranker interface: a query and candidate chunks in, one score per candidate out.

A real cross-encoder drops in behind it: it reads the candidates' texts with
``index.chunks(ids)`` and scores each (query, text) pair; the stored-vector reranker reads
vectors the indexer computed instead, so a query costs one short encoding.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from indexer.embedders.base import TextEncoder
from indexer.index import Index


class Reranker(ABC):
    """Scores candidate chunks of one index version for a query (higher is better)."""

    #: A stable name, shown by ``/health``.
    name: str

    @property
    def index_encoder(self) -> TextEncoder | None:
        """The encoder whose vectors the indexer must store for this reranker (None for one
        that reads only the candidates' texts, like a cross-encoder)."""
        return None

    def unavailable(self, index: Index) -> str | None:
        """Why this reranker cannot score ``index``'s chunks, or None when it can."""
        return None

    def clear_cache(self) -> None:
        """Forget cached query encodings (measurements that must pay for every one)."""
        return None

    @abstractmethod
    def scores(self, query: str, index: Index, chunk_ids: list[int]) -> np.ndarray:
        """One float score per id of ``chunk_ids``, in their order."""
