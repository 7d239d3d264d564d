"""Embedding backends behind one interface; ``load_embedder`` picks the configured one."""

from __future__ import annotations

from typing import get_args

from indexer.embedders.base import Embedder
from indexer.settings import Settings


def load_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.backend`` names (backends import lazily: torch is heavy)."""
    if settings.backend == "torch":
        from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings.model, batch_size=settings.batch_size)
    if settings.backend == "onnx-int8":
        from indexer.embedders.onnx_int8 import OnnxInt8Embedder

        return OnnxInt8Embedder(
            settings.model, batch_size=settings.batch_size, cache_dir=settings.onnx_cache_dir
        )
    valid = ", ".join(get_args(Settings.model_fields["backend"].annotation))
    raise ValueError(f"unknown embedding backend {settings.backend!r}; valid backends: {valid}")
