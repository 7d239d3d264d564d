"""Every chunk's article date as one array, held in memory beside the vectors: the as-of cut
and the freshness prior read it without touching the article rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChunkDates:
    """Chunk ids (sorted) and their articles' publication times (seconds since the epoch, UTC;
    NaN where the date is unknown)."""

    ids: np.ndarray
    times: np.ndarray

    @classmethod
    def of(cls, ids: np.ndarray, times: np.ndarray) -> ChunkDates:
        order = np.argsort(ids, kind="stable")
        return cls(
            np.asarray(ids, dtype=np.int64)[order], np.asarray(times, dtype=np.float64)[order]
        )

    @property
    def latest(self) -> float:
        """The newest known time; NaN when no chunk has a date."""
        known = self.times[~np.isnan(self.times)]
        return float(known.max()) if len(known) else math.nan

    @property
    def dated(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.times)))

    def times_of(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """The times of chunks ``ids``, in that order (NaN for unknown dates and unknown ids)."""
        wanted = np.asarray(ids, dtype=np.int64)
        if not len(self.ids):
            return np.full(len(wanted), np.nan)
        at = np.clip(np.searchsorted(self.ids, wanted), 0, len(self.ids) - 1)
        found = self.ids[at] == wanted
        return np.where(found, self.times[at], np.nan)

    def visible(self, cutoff: float) -> np.ndarray | None:
        """Sorted ids of the chunks published at or before ``cutoff`` or of unknown date; None
        when that is every chunk (nothing to cut)."""
        later = self.times > cutoff  # NaN compares False: unknown dates stay
        if not later.any():
            return None
        return self.ids[~later]
