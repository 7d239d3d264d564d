"""A small thread-safe LRU of query vectors: repeated questions are encoded once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

#: Queries kept per cache.
QUERY_CACHE = 1024


class QueryVectors:
    """``encode(query)`` results by query text, the least recently used dropped first."""

    def __init__(self, encode: Callable[[str], np.ndarray], size: int = QUERY_CACHE):
        self.encode = encode
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> np.ndarray:
        with self._lock:
            vector = self._vectors.get(query)
            if vector is not None:
                self._vectors.move_to_end(query)
                return vector
        vector = self.encode(query)
        with self._lock:
            self._vectors[query] = vector
            if len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return vector

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
