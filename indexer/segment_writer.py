"""Write the new segment of a change: chunk the articles, embed the chunks (through the
embedding cache), encode the second stage's leads, and hand the rows to the vector store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.chunking import Chunker, ChunkingSettings, default_max_tokens
from indexer.embed_cache import EmbeddingCache
from indexer.embedders.base import Embedder
from indexer.second_stage.leads import StoredLeads
from indexer.segments import write_segment
from indexer.stores.base import VectorStore
from indexer.types import Article, Chunk

EMBED_BATCH = 256


def chunking_for(embedder: Embedder, max_tokens: int | None, overlap: int) -> ChunkingSettings:
    return ChunkingSettings(
        max_tokens=max_tokens or default_max_tokens(embedder.max_tokens), overlap_sentences=overlap
    )


def embed_text(title: str, text: str, title_context: bool) -> str:
    """The text the model sees: the title gives context; the stored chunk stays the exact slice."""
    return f"{title}\n{text}" if title_context and title else text


@dataclass
class SegmentWriter:
    """Writes new segments for one change."""

    embedder: Embedder
    chunking: ChunkingSettings
    title_context: bool
    cache_path: Path
    vectors: VectorStore
    second_stage: StoredLeads | None = None
    progress: bool = True
    #: Chunks and leads encoded by the models (the rest came from the cache), and the time.
    embedded: int = 0
    leads_embedded: int = 0
    embed_seconds: float = 0.0

    def write(
        self, folder: Path, articles: list[tuple[Article, str]], next_id: int
    ) -> tuple[str, int]:
        """Chunk and embed ``articles`` into a new segment whose chunk ids start at
        ``next_id``; returns the segment's vector kind and the next free chunk id."""
        chunker = Chunker(self.embedder, self.chunking)
        rows: list[tuple[Article, str, list[Chunk]]] = []
        texts: list[str] = []
        for article, sha in tqdm(
            articles, desc="chunking", unit=" articles", disable=not self.progress
        ):
            chunks = chunker.chunk(article.id, article.text)
            rows.append((article, sha, chunks))
            texts.extend(embed_text(article.title, c.text, self.title_context) for c in chunks)
        ids = np.arange(next_id, next_id + len(texts), dtype=np.int64)
        started = time.perf_counter()
        cache = EmbeddingCache(self.cache_path, self.embedder.name, self.embedder.dim)
        try:
            with tqdm(
                total=len(texts), desc="embedding", unit=" chunks", disable=not self.progress
            ) as bar:
                vectors, self.embedded = cache.embed(
                    texts, self.embedder.embed_documents, EMBED_BATCH, bar.update
                )
        finally:
            cache.close()
        second: np.ndarray | None = None
        if self.second_stage is not None:
            second, self.leads_embedded = self.second_stage.encode(
                [article for article, _, _ in rows],
                [len(chunks) for _, _, chunks in rows],
                self.cache_path,
                self.progress,
            )
        self.embed_seconds = time.perf_counter() - started
        kind = write_segment(folder, rows, ids, vectors, self.vectors, second)
        return kind, next_id + len(texts)
