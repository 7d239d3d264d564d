"""The vectors of a version across its segments: one exact index over the small segments, the
stored ANN index of each large one (chosen by size when the segment was written), results
merged by score.

Deleted rows of an ANN segment are masked by searching only its live ids; a filter intersects
with them. Exact vectors for ``reconstruct`` come from each segment's ``vectors.npy``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.vectors.faiss_ann import FaissAnnIndex
from indexer.vectors.faiss_flat import FaissFlatIndex


@dataclass
class AnnPart:
    index: FaissAnnIndex
    #: Live chunk ids of the segment, sorted.
    live_ids: np.ndarray
    #: True when some rows of the segment are deleted (searches then pass ``live_ids``).
    masked: bool


class SegmentedVectors:
    """Nearest chunks by inner product over every live vector of a version."""

    def __init__(
        self,
        flat: FaissFlatIndex,
        parts: list[AnnPart],
        arrays: list[tuple[np.ndarray, np.ndarray]],
    ):
        self.flat = flat
        self.parts = parts
        #: Per segment: its sorted chunk ids and its (memory-mapped) float32 vectors.
        self._arrays = arrays
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
