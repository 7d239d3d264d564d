"""The FAISS vector store (the first backend, and the one every older index was written by).

Per segment: ``chunk_ids.npy`` (n,) int64, ``vectors.npy`` (n, dim) float32, ``rerank.npy``
(n, dim2) with a second stage, and ``ann.faiss`` (IVF-SQ8 or HNSW-SQ8, :mod:`faiss_ann`) when
the size rule asked for an approximate index. Opening a version puts the small segments into
one exact index and searches each large one's stored ANN index, results merged by score;
deleted rows of an ANN segment are masked by searching only its live ids.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.errors import IndexIntegrityError
from indexer.layout import ANN_FILE, IDS_FILE, SECOND_STAGE_FILE, VECTORS_FILE
from indexer.stores.base import (
    EXACT_MAX_VECTORS,
    SegmentRows,
    StoredSegment,
    VectorSearch,
    VectorStore,
    rows_by_id,
)
from indexer.stores.faiss_ann import FaissAnnIndex
from indexer.stores.faiss_flat import FaissFlatIndex
from indexer.stores.files import load_array, save_array

logger = logging.getLogger(__name__)

#: The kind of a segment searched exactly (the manifest's ``vector_index`` of such segments).
FLAT_KIND = "faiss:IDMap2,Flat,IP (exact, built when the version is opened)"
#: Parameters of the approximate index (see :class:`FaissAnnIndex`).
ANN_PARAMS = ("method", "nlist", "nprobe", "m", "ef_construction", "ef_search")
#: Parameters a reader may change on an index written before (search depth only).
SEARCH_PARAMS = ("nprobe", "ef_search")


def is_approximate(kind: str) -> bool:
    """Whether a segment of ``kind`` has a stored ANN index (``"flat"``: very old manifests)."""
    return kind not in (FLAT_KIND, "flat")


@dataclass
class AnnPart:
    index: FaissAnnIndex
    #: Live chunk ids of the segment, sorted.
    live_ids: np.ndarray
    #: True when some rows of the segment are deleted (searches then pass ``live_ids``).
    masked: bool


class FaissStore(VectorStore):
    name = "faiss"

    def __init__(
        self, params: Mapping[str, Any] | None = None, exact_max_vectors: int = EXACT_MAX_VECTORS
    ):
        super().__init__(params, exact_max_vectors)
        unknown = sorted(set(self.params) - set(ANN_PARAMS))
        if unknown:
            raise ValueError(
                f"unknown FAISS store params {unknown}; valid: {', '.join(ANN_PARAMS)}"
            )
        FaissAnnIndex(8, **self.params)  # validates the values

    def _write(self, folder: Path, rows: SegmentRows, approximate: bool) -> str:
        save_array(folder / IDS_FILE, rows.ids)
        save_array(folder / VECTORS_FILE, rows.vectors)
        if rows.second is not None:
            save_array(folder / SECOND_STAGE_FILE, rows.second)
        if not approximate:
            return FLAT_KIND
        ann = FaissAnnIndex(rows.vectors.shape[1], **self.params)
        ann.add(rows.ids, rows.vectors)
        ann.save(folder / ANN_FILE)
        logger.info("%s: %d vectors, approximate index %s", folder.name, len(rows.ids), ann.kind)
        return ann.kind

    def approximate(self, kind: str) -> bool:
        return is_approximate(kind)

    def files(self, folder: Path, kind: str) -> list[str]:
        names = [IDS_FILE, VECTORS_FILE]
        if is_approximate(kind):
            names.append(ANN_FILE)
        if (folder / SECOND_STAGE_FILE).is_file():
            names.append(SECOND_STAGE_FILE)
        return names

    def rows(self, folder: Path, dim: int, second_dim: int | None) -> SegmentRows:
        ids = load_array(folder / IDS_FILE, (None,), "chunk ids")
        vectors = load_array(folder / VECTORS_FILE, (len(ids), dim), "vectors")
        second = None
        if second_dim is not None:
            second = load_array(
                folder / SECOND_STAGE_FILE, (len(ids), second_dim), "second-stage vectors"
            )
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) > 1 and np.any(np.diff(ids) <= 0):
            raise IndexIntegrityError(f"{folder / IDS_FILE}: chunk ids are not increasing")
        return SegmentRows(ids, vectors, second)

    def _ann(self, segment: StoredSegment, dim: int) -> FaissAnnIndex:
        path = segment.folder / ANN_FILE
        if not path.is_file():
            raise IndexIntegrityError(
                f"{path}: missing, but the segment was written with an approximate index "
                f"({segment.kind}); restore the file or rebuild with `cited index --force`"
            )
        search = {k: int(v) for k, v in self.params.items() if k in SEARCH_PARAMS}
        index = FaissAnnIndex.load(path, dim, **search)
        if index.size != len(segment.ids):
            raise IndexIntegrityError(
                f"{path}: {index.size} vectors, the segment has {len(segment.ids)}"
            )
        return index

    def check(self, segment: StoredSegment, dim: int) -> None:
        self.rows(segment.folder, dim, None)
        if is_approximate(segment.kind):
            self._ann(segment, dim)

    def open(
        self, segments: Sequence[StoredSegment], dim: int, second_dim: int | None
    ) -> VectorSearch:
        flat = FaissFlatIndex(dim)
        parts: list[AnnPart] = []
        arrays, second = [], []
        for segment in segments:
            rows = self.rows(segment.folder, dim, second_dim)
            if not np.array_equal(rows.ids, segment.ids):
                raise IndexIntegrityError(f"{segment.folder / IDS_FILE}: changed while opened")
            arrays.append((rows.ids, rows.vectors))
            if rows.second is not None:
                second.append((rows.ids, rows.second))
            masked = len(segment.live_ids) < len(segment.ids)
            if is_approximate(segment.kind):
                parts.append(AnnPart(self._ann(segment, dim), segment.live_ids, masked))
            elif len(segment.live_ids):
                live = np.isin(rows.ids, segment.live_ids)
                flat.add(segment.live_ids, np.asarray(rows.vectors[live], dtype=np.float32))
        return SegmentedVectors(flat, parts, arrays, second, second_dim)


class SegmentedVectors(VectorSearch):
    """Nearest chunks by inner product over every live vector of a version."""

    def __init__(
        self,
        flat: FaissFlatIndex,
        parts: list[AnnPart],
        arrays: list[tuple[np.ndarray, np.ndarray]],
        second: list[tuple[np.ndarray, np.ndarray]] | None = None,
        second_dim: int | None = None,
    ):
        self.flat = flat
        self.parts = parts
        #: Per segment: its sorted chunk ids and its (memory-mapped) float32 vectors.
        self._arrays = arrays
        self._second = second or []
        self._second_dim = second_dim
        self.dim = flat.dim

    @property
    def size(self) -> int:
        return self.flat.size + sum(len(p.live_ids) for p in self.parts)

    @property
    def kind(self) -> str:
        kinds = [self.flat.kind] if self.flat.size or not self.parts else []
        return " + ".join([*kinds, *(p.index.kind for p in self.parts)])

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        results = []
        if self.flat.size:
            results.append(self.flat.search(queries, k, allowed))
        for part in self.parts:
            mine = part.live_ids if part.masked else None
            if allowed is not None:
                mine = np.intersect1d(part.live_ids, allowed, assume_unique=True)
                if not len(mine):
                    continue
            results.append(part.index.search(queries, k, mine))
        if not results:
            empty = np.full((len(queries), 1), -np.finfo(np.float32).max, dtype=np.float32)
            return empty, np.full((len(queries), 1), -1, dtype=np.int64)
        if len(results) == 1:
            return results[0]
        scores = np.concatenate([r[0] for r in results], axis=1)
        ids = np.concatenate([r[1] for r in results], axis=1)
        scores = np.where(ids >= 0, scores, -np.finfo(np.float32).max)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)

    def reconstruct(self, ids: list[int]) -> np.ndarray:
        return rows_by_id(self._arrays, ids, self.dim)

    def close(self) -> None:
        """Nothing to release: the arrays are memory-mapped, the FAISS indexes in memory."""

    def second_vectors(self, ids: list[int]) -> np.ndarray:
        if self._second_dim is None:
            raise KeyError("this version holds no second-stage vectors")
        return rows_by_id(self._second, ids, self._second_dim)
