"""FAISS building block: exact inner-product search with FAISS (``IndexIDMap2`` over ``Flat``)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from indexer.errors import IndexIntegrityError
from indexer.stores.base import VectorIndex


def reconstruct_rows(index: faiss.Index, ids: list[int], dim: int) -> np.ndarray:
    """The vectors FAISS ``index`` stores under ``ids``, one row each, as float32."""
    if not ids:
        return np.zeros((0, dim), dtype=np.float32)
    return np.vstack([index.reconstruct(int(i)) for i in ids]).astype(np.float32)


class FaissFlatIndex(VectorIndex):
    """Exact search; the right choice for archives up to a few hundred thousand chunks."""

    kind = "faiss:IDMap2,Flat,IP"

    def __init__(self, dim: int, index: faiss.Index | None = None):
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @classmethod
    def load(cls, path: Path, dim: int) -> FaissFlatIndex:
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexIntegrityError(f"{path}: not a readable FAISS index ({exc})") from exc
        if index.d != dim:
            raise IndexIntegrityError(f"{path}: vectors have dimension {index.d}, expected {dim}")
        return cls(dim, index)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(
                f"vectors have shape {vectors.shape}, expected ({len(ids)}, {self.dim})"
            )
        self.index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
        )

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.size)) if self.size else 1
        if allowed is None:
            scores, ids = self.index.search(queries, k)
        else:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            scores, ids = self.index.search(queries, k, params=params)
        return scores, ids

    def reconstruct(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of ``ids`` (n, dim)."""
        return reconstruct_rows(self.index, ids, self.dim)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @property
    def size(self) -> int:
        return int(self.index.ntotal)
