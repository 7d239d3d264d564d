"""Open a published index version for reading: the only way the service and eval reach an index."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from indexer.chunk_dates import ChunkDates
from indexer.errors import IndexIntegrityError, IndexMismatchError, IndexNotFoundError
from indexer.filters import Filters
from indexer.integrity import REPAIR_COMMAND, Skipped, candidate_versions, no_intact_version
from indexer.layout import DELETIONS_FILE, LEXICAL_DIR, version_folder
from indexer.lexical.bm25 import BM25Index
from indexer.manifest import Manifest, check_model, check_store, read_manifest, verify_files
from indexer.segments import Segment, SegmentedStore, manifest_segments
from indexer.store import StoredChunk
from indexer.stores import StoreOptions, VectorSearch, store_of
from indexer.types import Article
from indexer.versions import current_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """A chunk id with its score from one ranker, best first."""

    chunk_id: int
    score: float
    #: The freshness factor multiplied into ``score`` (1: none applied).
    factor: float = 1.0


class Index:
    """One published, verified index version: vectors, BM25, chunks and articles."""

    def __init__(
        self,
        folder: Path,
        manifest: Manifest,
        store: SegmentedStore,
        vectors: VectorSearch,
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

    @cached_property
    def dates(self) -> ChunkDates:
        """Every chunk's article date, in memory (read once, when the version is opened)."""
        return self.store.chunk_dates()

    def allowed(
        self, filters: Filters | None, published_before: float | None = None
    ) -> np.ndarray | None:
        """Sorted ids of the chunks that pass ``filters`` and were published at or before
        ``published_before`` (seconds since the epoch; unknown dates pass); None when nothing
        is cut."""
        by_filters = (
            None if filters is None or filters.empty else self.store.chunk_ids_matching(filters)
        )
        by_time = None if published_before is None else self.dates.visible(published_before)
        if by_filters is None:
            return by_time
        if by_time is None:
            return by_filters
        return np.intersect1d(by_filters, by_time, assume_unique=True)

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

    @property
    def has_second_stage(self) -> bool:
        return self.manifest.second_stage is not None

    def second_stage_vectors(self, ids: list[int]) -> np.ndarray:
        """Second-stage vectors of chunks ``ids`` (their articles' leads), in that order."""
        record = self.manifest.second_stage
        if record is None:
            raise IndexMismatchError(
                f"index version {self.version} has no second-stage vectors: rebuild it with "
                "CITED_RERANKER set (`cited index --force PATH...`)"
            )
        return self.vectors.second_vectors(ids)

    def article(self, article_id: str) -> Article:
        return self.store.article(article_id)

    def close(self) -> None:
        self.vectors.close()
        self.store.close()


def open_index(index_dir: Path, *, verify: bool = True, store: StoreOptions | None = None) -> Index:
    """Open the current version of ``index_dir``, checking its manifest, checksums and counts
    (and, given ``store``, that the configured vector store wrote it)."""
    _, folder = current_version(index_dir)
    return open_version(folder, verify=verify, store=store)


def open_newest(
    index_dir: Path, *, verify: bool = True, store: StoreOptions | None = None
) -> tuple[Index, list[Skipped]]:
    """The newest version of ``index_dir`` that verifies, with the newer ones passed over and
    why (each logged as an error). Only damage is passed over: a version written with another
    model or vector store raises as :func:`open_index` does. When no version verifies, the
    error names every reason and the repair command."""
    skipped: list[Skipped] = []
    for name in candidate_versions(index_dir):
        try:
            index = open_version(version_folder(index_dir, name), verify=verify, store=store)
        except IndexIntegrityError as exc:
            skipped.append(Skipped(name, str(exc)))
            logger.error("NOT serving index version %s, it is damaged: %s", name, exc)
            continue
        if skipped:
            logger.error(
                "serving index version %s, older than the current one (%s): run `%s` to "
                "replace the damaged version",
                name,
                ", ".join(s.version for s in skipped),
                REPAIR_COMMAND,
            )
        return index, skipped
    raise no_intact_version(index_dir, skipped)


def open_named_version(
    index_dir: Path, name: str, *, verify: bool = True, store: StoreOptions | None = None
) -> Index:
    folder = version_folder(index_dir, name)
    if not folder.is_dir():
        raise IndexNotFoundError(f"no version {name!r} in {folder.parent}")
    return open_version(folder, verify=verify, store=store)


def open_version(folder: Path, *, verify: bool = True, store: StoreOptions | None = None) -> Index:
    """Open one version folder; every part must agree with the manifest and with each other.
    Given ``store``, a version written by another vector store raises IndexMismatchError."""
    manifest = read_manifest(folder)
    if store is not None:
        check_store(manifest, store.name, dict(store.params))
    vector_store = store_of(manifest)
    if verify:
        verify_files(folder, manifest)
    try:
        deletions = json.loads((folder / DELETIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexIntegrityError(f"{folder / DELETIONS_FILE}: not readable ({exc})") from exc
    dim = manifest.model.dim
    second_dim = manifest.second_stage.dim if manifest.second_stage is not None else None
    segments: list[Segment] = []
    try:
        for segment, info in zip(
            manifest_segments(folder, manifest, vector_store, deletions),
            manifest.segments,
            strict=True,
        ):
            segments.append(segment)
            rows = segment.store.counts()
            if (rows[0], rows[1], len(segment.deleted)) != (
                info.articles,
                info.chunks,
                info.deleted_articles,
            ):
                raise IndexIntegrityError(
                    f"{segment.folder}: {rows[0]} articles / {rows[1]} chunks / "
                    f"{len(segment.deleted)} deleted, the manifest says {info.articles} / "
                    f"{info.chunks} / {info.deleted_articles}"
                )
        chunk_store = SegmentedStore(segments)
        vectors = vector_store.open([s.stored for s in segments], dim, second_dim)
        lexical = BM25Index.load(folder / LEXICAL_DIR)
        articles, chunks = chunk_store.counts()
        expected = (manifest.counts.get("articles"), manifest.counts.get("chunks"))
        live_ids = np.asarray(chunk_store.chunk_ids(), dtype=np.int64)
        if (
            (articles, chunks) != expected
            or vectors.size != chunks
            or lexical.size != chunks
            or not np.array_equal(lexical.ids, live_ids)
        ):
            raise IndexIntegrityError(
                f"{folder}: counts disagree: manifest {expected[0]} articles / {expected[1]} "
                f"chunks, store {articles} / {chunks}, vectors {vectors.size}, "
                f"bm25 {lexical.size}"
            )
    except BaseException:
        for segment in segments:
            segment.close()
        raise
    index = Index(folder, manifest, chunk_store, vectors, lexical)
    logger.info(
        "opened index version %s (%d articles, %d chunks, %d with a date)",
        manifest.version,
        *expected,
        index.dates.dated,
    )
    return index
