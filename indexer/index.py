"""Open a published index version for reading: the only way the service and eval reach an index."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.build import LEXICAL_DIR, STORE_FILE, VECTORS_FILE
from indexer.errors import IndexIntegrityError
from indexer.filters import Filters
from indexer.lexical.bm25 import BM25Index
from indexer.manifest import Manifest, check_model, read_manifest, verify_files
from indexer.store import Store, StoredChunk
from indexer.types import Article
from indexer.vectors.faiss_flat import FaissFlatIndex
from indexer.versions import current_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """A chunk id with its score from one ranker, best first."""

    chunk_id: int
    score: float


class Index:
    """One published, verified index version: vectors, BM25, chunks and articles."""

    def __init__(
        self,
        folder: Path,
        manifest: Manifest,
        store: Store,
        vectors: FaissFlatIndex,
        lexical: BM25Index,
    ):
        self.folder = folder
        self.manifest = manifest
        self.store = store
        self.vectors = vectors
        self.lexical = lexical

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest.counts)

    def check_model(self, name: str, dim: int) -> None:
        check_model(self.manifest, name, dim)

    def allowed(self, filters: Filters | None) -> np.ndarray | None:
        """Chunk ids that pass ``filters``; None when there is nothing to filter."""
        if filters is None or filters.empty:
            return None
        return self.store.chunk_ids_matching(filters)

    def dense(
        self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[Hit]:
        """The ``k`` chunks nearest to a unit query vector, best first."""
        if allowed is not None and len(allowed) == 0:
            return []
        scores, ids = self.vectors.search(query_vector, k, allowed)
        return [Hit(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def bm25(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` chunks with the best BM25 score (positive scores only), best first."""
        if allowed is not None and len(allowed) == 0:
            return []
        ids, scores = self.lexical.search(query, k, allowed)
        return [Hit(int(i), float(s)) for i, s in zip(ids, scores, strict=True)]

    def chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        return self.store.chunks(ids)

    def chunk_vectors(self, ids: list[int]) -> np.ndarray:
        return self.vectors.reconstruct(ids)

    def article(self, article_id: str) -> Article:
        return self.store.article(article_id)

    def close(self) -> None:
        self.store.close()


def open_index(index_dir: Path, *, verify: bool = True) -> Index:
    """Open the current version of ``index_dir``, checking its manifest, checksums and counts."""
    _, folder = current_version(index_dir)
    manifest = read_manifest(folder)
    if verify:
        verify_files(folder, manifest)
    store = Store(folder / STORE_FILE)
    vectors = FaissFlatIndex.load(folder / VECTORS_FILE, manifest.model.dim)
    lexical = BM25Index.load(folder / LEXICAL_DIR)
    articles, chunks = store.counts()
    expected = (manifest.counts.get("articles"), manifest.counts.get("chunks"))
    if (articles, chunks) != expected or vectors.size != chunks or lexical.size != chunks:
        raise IndexIntegrityError(
            f"{folder}: counts disagree: manifest {expected[0]} articles / {expected[1]} chunks, "
            f"store {articles} / {chunks}, vectors {vectors.size}, bm25 {lexical.size}"
        )
    logger.info("opened index version %s (%d articles, %d chunks)", manifest.version, *expected)
    return Index(folder, manifest, store, vectors, lexical)
