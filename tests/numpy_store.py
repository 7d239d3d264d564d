"""A second vector store for the contract suite: exact search with numpy over one ``.npz`` per
segment. It shows what a backend is: this file plus the one ``register`` line at the end."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexer.errors import IndexIntegrityError
from indexer.stores import register
from indexer.stores.base import (
    SegmentRows,
    StoredSegment,
    VectorSearch,
    VectorStore,
    rows_by_id,
    top_k,
)

FILE = "vectors.npz"
KIND = "numpy:exact"


class NumpyStore(VectorStore):
    """Every segment searched exactly (it has no approximate index: the size rule's choice is
    recorded as exact)."""

    name = "numpy"

    def _write(self, folder: Path, rows: SegmentRows, approximate: bool) -> str:
        with (folder / FILE).open("wb") as handle:
            if rows.second is None:
                np.savez(handle, ids=rows.ids, vectors=rows.vectors)
            else:
                np.savez(handle, ids=rows.ids, vectors=rows.vectors, second=rows.second)
        return KIND

    def approximate(self, kind: str) -> bool:
        return False

    def files(self, folder: Path, kind: str) -> list[str]:
        return [FILE]

    def rows(self, folder: Path, dim: int, second_dim: int | None) -> SegmentRows:
        path = folder / FILE
        try:
            with np.load(path, allow_pickle=False) as data:
                ids = np.asarray(data["ids"], dtype=np.int64)
                vectors = np.asarray(data["vectors"], dtype=np.float32)
                second = np.asarray(data["second"], np.float32) if second_dim is not None else None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise IndexIntegrityError(f"{path}: not a readable numpy segment ({exc})") from exc
        if ids.ndim != 1 or vectors.shape != (len(ids), dim):
            raise IndexIntegrityError(f"{path}: {len(ids)} ids, vectors {vectors.shape}")
        if second is not None and second.shape != (len(ids), second_dim):
            raise IndexIntegrityError(f"{path}: second-stage vectors {second.shape}")
        if len(ids) > 1 and np.any(np.diff(ids) <= 0):
            raise IndexIntegrityError(f"{path}: chunk ids are not increasing")
        return SegmentRows(ids, vectors, second)

    def check(self, segment: StoredSegment, dim: int) -> None:
        self.rows(segment.folder, dim, None)

    def open(
        self, segments: Sequence[StoredSegment], dim: int, second_dim: int | None
    ) -> VectorSearch:
        return NumpySearch([self.rows(s.folder, dim, second_dim) for s in segments], segments, dim)


class NumpySearch(VectorSearch):
    def __init__(self, rows: list[SegmentRows], segments: Sequence[StoredSegment], dim: int):
        self.rows, self.dim = rows, dim
        live = [r.vectors[np.isin(r.ids, s.live_ids)] for r, s in zip(rows, segments, strict=True)]
        self.ids = np.concatenate([np.zeros(0, np.int64), *(s.live_ids for s in segments)])
        self.vectors = np.vstack([np.zeros((0, dim), np.float32), *live])

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def kind(self) -> str:
        return KIND

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        keep = np.ones(len(self.ids), bool) if allowed is None else np.isin(self.ids, allowed)
        return top_k(queries, self.ids[keep], self.vectors[keep], min(k, max(1, int(keep.sum()))))

    def reconstruct(self, ids: list[int]) -> np.ndarray:
        return rows_by_id([(r.ids, r.vectors) for r in self.rows], ids, self.dim)

    def second_vectors(self, ids: list[int]) -> np.ndarray:
        arrays = [(r.ids, r.second) for r in self.rows if r.second is not None]
        if not arrays:
            raise KeyError("this version holds no second-stage vectors")
        return rows_by_id(arrays, ids, arrays[0][1].shape[1])

    def close(self) -> None:
        self.rows = []


register(NumpyStore)
