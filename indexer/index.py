"""Open a published index version for reading: the only way the service and eval reach an index."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.build import STORE_FILE, VECTORS_FILE
from indexer.errors import IndexIntegrityError
from indexer.manifest import Manifest, check_model, read_manifest, verify_files
from indexer.store import Store, StoredChunk
from indexer.types import Article
from indexer.vectors.faiss_flat import FaissFlatIndex
from indexer.versions import current_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    chunk: StoredChunk
    score: float


class Index:
    """One published, verified index version: vectors, chunks and articles."""

    def __init__(self, folder: Path, manifest: Manifest, store: Store, vectors: FaissFlatIndex):
        self.folder = folder
        self.manifest = manifest
        self.store = store
        self.vectors = vectors

    @property
    def version(self) -> str:
        return self.manifest.version

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.manifest.counts)

    def check_model(self, name: str, dim: int) -> None:
        check_model(self.manifest, name, dim)

    def search(self, query_vector: np.ndarray, k: int) -> list[Hit]:
        """The ``k`` chunks nearest to a unit query vector, best first."""
        scores, ids = self.vectors.search(query_vector, k)
        found = [int(i) for i in ids[0] if i >= 0]
        chunks = self.store.chunks(found)
        hits = []
        for chunk_id, score in zip(ids[0], scores[0], strict=True):
            chunk = chunks.get(int(chunk_id))
            if chunk is not None:
                hits.append(Hit(chunk, float(score)))
        return hits

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
    articles, chunks = store.counts()
    expected = (manifest.counts.get("articles"), manifest.counts.get("chunks"))
    if (articles, chunks) != expected or vectors.size != chunks:
        raise IndexIntegrityError(
            f"{folder}: counts disagree: manifest {expected[0]} articles / {expected[1]} chunks, "
            f"store {articles} / {chunks}, vectors {vectors.size}"
        )
    logger.info("opened index version %s (%d articles, %d chunks)", manifest.version, *expected)
    return Index(folder, manifest, store, vectors)
