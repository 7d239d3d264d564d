"""The second stage of ``hybrid+rerank``: re-score the fused candidates (one backend per file)."""

from __future__ import annotations

from cited.config import Settings
from indexer.embedders import load_second_stage
from service.rerank.base import Reranker
from service.rerank.stored import StoredVectorReranker

__all__ = ["Reranker", "StoredVectorReranker", "load_reranker"]


def load_reranker(settings: Settings) -> Reranker | None:
    """The second stage ``settings.index.reranker`` names, or None for ``none``."""
    encoder = load_second_stage(settings)
    return StoredVectorReranker(encoder) if encoder is not None else None
