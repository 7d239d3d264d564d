"""The second stage of ``hybrid+rerank``: re-score the fused candidates (one backend per file)."""

from __future__ import annotations

from service.rerank.base import Reranker
from service.rerank.stored import StoredVectorReranker

__all__ = ["Reranker", "StoredVectorReranker"]
