"""Embedding backends behind one interface; ``load_embedder`` picks the configured one."""

from __future__ import annotations

from typing import get_args

from cited.config import IndexSettings, Settings
from indexer.embedders.base import Embedder


def load_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.index.backend`` names (backends import lazily: torch is heavy)."""
    if settings.index.backend == "torch":
        from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(
            settings.index.model, batch_size=settings.index.batch_size
        )
    if settings.index.backend == "onnx-int8":
        from indexer.embedders.onnx_int8 import OnnxInt8Embedder

        return OnnxInt8Embedder(
            settings.index.model,
            batch_size=settings.index.batch_size,
            cache_dir=settings.index.onnx_cache_dir,
        )
    valid = ", ".join(get_args(IndexSettings.model_fields["backend"].annotation))
    raise ValueError(
        f"unknown embedding backend {settings.index.backend!r}; valid backends: {valid}"
    )
