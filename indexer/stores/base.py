"""The vector store interface: how a segment's vectors are written, checked, shared and searched.

A *store* (one per backend: :mod:`indexer.stores.faiss`, ...) writes each segment's chunk
vectors (and second-stage vectors) next to its SQLite store and opens the segments of a version
as one :class:`VectorSearch`. Whether a segment is searched exactly or approximately is decided
here, by size (:func:`wants_approximate`), never inside a backend; the store records its choice
as the segment's ``kind`` (kept in the manifest) and must refuse a segment whose files do not
match it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cited.config import IndexSettings, default_of
from indexer.stores.files import link_files

#: Exact search below this many 384-d vectors (scaled by 384 / dim). Exact single-query search
#: measured 33 ms p50 at 200k and 199 ms at 1M on one core of this loaded 2-core machine,
#: so 100k stays near 17 ms, under the 20 ms budget; above it IVF-SQ8 answers in ~1 ms at
#: recall@10 >= 0.98 (eval/ann.py). The default is ``CITED_STORE_EXACT_MAX_VECTORS``'s.
EXACT_MAX_VECTORS: int = default_of(IndexSettings, "store_exact_max_vectors")


def wants_approximate(n_vectors: int, dim: int, exact_max_vectors: int = EXACT_MAX_VECTORS) -> bool:
    """The size rule: approximate search from ``exact_max_vectors * 384 / dim`` vectors up."""
    if n_vectors < 0:
        raise ValueError(f"n_vectors must be >= 0, got {n_vectors}")
    if dim <= 0:
        raise ValueError(f"dim must be > 0, got {dim}")
    return n_vectors > 0 and n_vectors * dim >= exact_max_vectors * 384


@dataclass(frozen=True)
class StoreOptions:
    """Which vector store writes new segments: backend name, its parameters, the size rule."""

    name: str = default_of(IndexSettings, "store")
    params: Mapping[str, Any] = field(default_factory=dict)
    #: Exact search below this many vectors (384-d equivalent), see :func:`wants_approximate`.
    exact_max_vectors: int = EXACT_MAX_VECTORS


@dataclass(frozen=True)
class SegmentRows:
    """A segment's rows as the store holds them: row i is chunk ``ids[i]``."""

    ids: np.ndarray
    vectors: np.ndarray
    #: Second-stage vectors, one row per chunk; None when the index has no second stage.
    second: np.ndarray | None = None


@dataclass(frozen=True)
class StoredSegment:
    """A published segment as a reader opens it."""

    folder: Path
    #: What :meth:`VectorStore.write_segment` returned (the manifest's ``vector_index``).
    kind: str
    #: The rows held (increasing) and the live ones (deleted articles' chunks left out).
    ids: np.ndarray
    live_ids: np.ndarray


class VectorSearch(ABC):
    """The vectors of one version, opened: nearest live chunks by inner product."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Live vectors held."""

    @property
    @abstractmethod
    def kind(self) -> str:
        """How the vectors are searched, for logs and reports."""

    @abstractmethod
    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(scores, ids)``, each (n_queries, <= k), best first; id -1 pads a row.

        With ``allowed``, only those ids are searched (filters apply before the cut-off).
        """

    @abstractmethod
    def reconstruct(self, ids: list[int]) -> np.ndarray:
        """The vectors of chunks ``ids`` (len(ids), dim), in that order."""

    @abstractmethod
    def second_vectors(self, ids: list[int]) -> np.ndarray:
        """The second-stage vectors of chunks ``ids``, in that order."""

    @abstractmethod
    def close(self) -> None:
        """Release what the search holds (files, connections)."""


class VectorStore(ABC):
    """A backend that stores segment vectors; registered by name in :mod:`indexer.stores`."""

    #: The backend's name (``CITED_STORE``), recorded in the manifest.
    name: ClassVar[str]

    def __init__(
        self, params: Mapping[str, Any] | None = None, exact_max_vectors: int = EXACT_MAX_VECTORS
    ):
        self.params: dict[str, Any] = dict(params or {})
        if exact_max_vectors < 0:
            raise ValueError(f"exact_max_vectors must be >= 0, got {exact_max_vectors}")
        self.exact_max_vectors = exact_max_vectors

    def write_segment(
        self,
        folder: Path,
        ids: np.ndarray,
        vectors: np.ndarray,
        second: np.ndarray | None = None,
    ) -> str:
        """Write the vectors of a new segment into ``folder`` (it exists); return its kind."""
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise ValueError(f"{len(ids)} ids and vectors of shape {vectors.shape}")
        if second is not None and len(second) != len(ids):
            raise ValueError(f"{len(ids)} ids and {len(second)} second-stage vectors")
        approximate = wants_approximate(len(ids), vectors.shape[1], self.exact_max_vectors)
        second = None if second is None else np.asarray(second, dtype=np.float32)
        return self._write(folder, SegmentRows(ids, vectors, second), approximate)

    @abstractmethod
    def _write(self, folder: Path, rows: SegmentRows, approximate: bool) -> str:
        """Store ``rows``, with an approximate index when ``approximate``; return the kind."""

    @abstractmethod
    def approximate(self, kind: str) -> bool:
        """Whether a segment of ``kind`` is searched approximately."""

    @abstractmethod
    def files(self, folder: Path, kind: str) -> list[str]:
        """The files (names in ``folder``) a segment of ``kind`` holds: all must exist."""

    def resources(self, folder: Path, kind: str) -> list[str]:
        """Resources outside the folder (collections, tables) the segment uses; none here."""
        return []

    @abstractmethod
    def rows(self, folder: Path, dim: int, second_dim: int | None) -> SegmentRows:
        """The segment's rows, checked (shape, dim, increasing ids): else IndexIntegrityError."""

    @abstractmethod
    def check(self, segment: StoredSegment, dim: int) -> None:
        """Raise IndexIntegrityError if a resource of ``segment`` is missing or damaged."""

    @abstractmethod
    def open(
        self, segments: Sequence[StoredSegment], dim: int, second_dim: int | None
    ) -> VectorSearch:
        """Open the vectors of a version's ``segments`` (each checked) for searching."""

    def link(self, source: Path, target: Path, kind: str) -> None:
        """Share a published segment's vectors with a new version (``target`` exists)."""
        link_files(source, target, self.files(source, kind))

    def drop(self, folder: Path, kind: str) -> None:
        """Delete the segment's vectors (its folder stays)."""
        for name in self.files(folder, kind):
            (folder / name).unlink(missing_ok=True)


def rows_by_id(arrays: list[tuple[np.ndarray, np.ndarray]], ids: list[int], dim: int) -> np.ndarray:
    """Rows of per-segment ``(sorted chunk ids, rows)`` arrays for ``ids``, in their order."""
    if not ids:
        return np.zeros((0, dim), dtype=np.float32)
    out = np.zeros((len(ids), dim), dtype=np.float32)
    wanted = np.asarray(ids, dtype=np.int64)
    found = np.zeros(len(ids), dtype=bool)
    for seg_ids, vectors in arrays:
        if not len(seg_ids):
            continue
        pos = np.minimum(np.searchsorted(seg_ids, wanted), len(seg_ids) - 1)
        hit = (seg_ids[pos] == wanted) & ~found
        out[hit] = vectors[pos[hit]]
        found |= hit
    if not found.all():
        raise KeyError(f"chunk ids not in this version: {wanted[~found][:5].tolist()}")
    return out


def top_k(
    queries: np.ndarray, ids: np.ndarray, vectors: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` of ``queries`` over ``(ids, vectors)`` by inner product, best first;
    ties keep the order of ``ids``. Rows with fewer hits are padded with id -1."""
    n = len(queries)
    k = max(1, k)
    scores = np.full((n, k), -np.finfo(np.float32).max, dtype=np.float32)
    out = np.full((n, k), -1, dtype=np.int64)
    if not len(ids):
        return scores, out
    all_scores = np.asarray(queries, np.float32) @ np.asarray(vectors, np.float32).T
    take = min(k, len(ids))
    top = np.argpartition(-all_scores, take - 1, axis=1)[:, :take]
    top_scores = np.take_along_axis(all_scores, top, axis=1)
    order = np.lexsort((top, -top_scores), axis=1) if n else top
    scores[:, :take] = np.take_along_axis(top_scores, order, axis=1)
    out[:, :take] = ids[np.take_along_axis(top, order, axis=1)]
    return scores, out


class VectorIndex(ABC):
    """An in-memory index of int64 ids with unit vectors (a FAISS backend's building block)."""

    #: Recorded in the manifest so a reader knows what it opens.
    kind: str

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n, dim) float32 under ``ids`` (n,) int64."""

    @abstractmethod
    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(scores, ids)``, each (n_queries, k); missing neighbours have id -1."""

    @abstractmethod
    def reconstruct(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of ``ids``, (len(ids), dim)."""

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the index to ``path`` (a new file; never one a reader may hold open)."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of vectors held."""
