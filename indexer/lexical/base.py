"""The lexical index interface: chunk texts in, chunk ids ranked by term matching out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np


class LexicalIndex(ABC):
    """Ranks chunk ids for a query by word overlap (BM25 and the like)."""

    #: Recorded in the manifest.
    kind: str

    @abstractmethod
    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, scores)`` of the best ``k`` chunks with a positive score, best first.

        ``allowed``, when given, holds the only chunk ids that may be returned (filters apply
        before the cut-off, so ``k`` results come back whenever ``k`` allowed chunks match).
        """

    @abstractmethod
    def save(self, folder: Path) -> list[Path]:
        """Write the index into ``folder`` (created); return the files written."""

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of chunks indexed."""
