"""The second-stage interface: what the indexer stores for it, and a query's candidates in, one
score per candidate out.

A stored-vector second stage (:mod:`indexer.second_stage.stored`) reads vectors the indexer
computed, so a query costs one short encoding. A cross-encoder would store nothing
(``stored`` None) and score each (query, text) pair, reading the texts with
``index.chunks(ids)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from indexer.second_stage.leads import StoredLeads

if TYPE_CHECKING:
    from indexer.index import Hit, Index


class SecondStage(ABC):
    """Scores candidate chunks of one index version for a query (higher is better)."""

    #: A stable name, shown by ``/health``.
    name: str

    @property
    def stored(self) -> StoredLeads | None:
        """What the indexer must store per chunk for this second stage (None: nothing)."""
        return None

    def unavailable(self, index: Index) -> str | None:
        """Why this second stage cannot score ``index``'s chunks, or None when it can."""
        return None

    def clear_cache(self) -> None:
        """Forget cached query encodings (measurements that must pay for every one)."""
        return None

    @abstractmethod
    def scores(self, query: str, index: Index, chunk_ids: list[int]) -> np.ndarray:
        """One float score per id of ``chunk_ids``, in their order."""

    def ranking(self, query: str, index: Index, hits: Sequence[Hit], depth: int) -> list[Hit]:
        """This second stage's ranking of the first ``depth`` of ``hits`` (ties keep their
        order: chunks of one article share their lead's score); the retriever fuses it with
        the first stage's rankings."""
        from indexer.index import Hit  # not at the top: indexer.index imports this package

        top = hits[:depth]
        scores = self.scores(query, index, [h.chunk_id for h in top])
        order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
        return [Hit(top[i].chunk_id, float(scores[i])) for i in order]
