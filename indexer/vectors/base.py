"""The vector index interface: int64 ids with unit vectors in, nearest ids by inner product out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np


class VectorIndex(ABC):
    """Nearest neighbours by inner product over explicit int64 ids (chunk ids)."""

    #: Recorded in the manifest so a reader knows what it opens.
    kind: str

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (n, dim) float32 under ``ids`` (n,) int64."""

    @abstractmethod
    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(scores, ids)``, each (n_queries, k); missing neighbours have id -1.

        With ``allowed``, only those ids are searched (filters apply before the cut-off).
        """

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
