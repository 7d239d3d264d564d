"""Indexing speed against the model's limit: end-to-end chunks/s beside the raw ``encode``
throughput on the same chunk texts, measured in one run."""

from __future__ import annotations

import logging
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from indexer.chunking import Chunker
from indexer.embedders.base import Embedder
from indexer.types import Article
from indexer.update import EMBED_BATCH, UpdateOptions, chunking_for, embed_text, update_index

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexingResult:
    backend: str
    articles: int
    chunks: int
    raw_encode_chunks_per_s: float
    index_chunks_per_s: float
    index_articles_per_s: float
    index_seconds: float
    peak_rss_mb: float

    @property
    def ratio(self) -> float:
        return self.index_chunks_per_s / self.raw_encode_chunks_per_s


def chunk_texts(articles: list[Article], embedder: Embedder) -> list[str]:
    """The exact texts the indexer gives the model (title + chunk), in indexing order."""
    chunker = Chunker(embedder, chunking_for(embedder, None, 1))
    return [
        embed_text(a.title, c.text, True) for a in articles for c in chunker.chunk(a.id, a.text)
    ]


def raw_encode_rate(embedder: Embedder, texts: list[str]) -> float:
    """Chunks/s of the model alone, in the indexer's batch size, texts in indexing order."""
    started = time.perf_counter()
    for offset in range(0, len(texts), EMBED_BATCH):
        embedder.embed_documents(texts[offset : offset + EMBED_BATCH])
    return len(texts) / (time.perf_counter() - started)


def measure_indexing(embedder: Embedder, articles: list[Article]) -> IndexingResult:
    """Raw encode, then a full index build (empty embedding cache) of the same articles."""
    texts = chunk_texts(articles, embedder)
    embedder.embed_documents(texts[:64])  # warm-up: first-call allocations, lazy loading
    raw = raw_encode_rate(embedder, texts)
    with tempfile.TemporaryDirectory(prefix="cited-bench-index-") as folder:
        started = time.perf_counter()
        report = update_index(
            Path(folder) / "index", embedder, articles, options=UpdateOptions(progress=False)
        )
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    logger.info(
        "%s: raw %.1f chunks/s, index %.1f chunks/s (%d chunks)",
        embedder.name,
        raw,
        report.chunks / seconds,
        report.chunks,
    )
    return IndexingResult(
        backend=embedder.name,
        articles=len(articles),
        chunks=report.chunks,
        raw_encode_chunks_per_s=raw,
        index_chunks_per_s=report.chunks / seconds,
        index_articles_per_s=len(articles) / seconds,
        index_seconds=seconds,
        peak_rss_mb=peak,
    )
