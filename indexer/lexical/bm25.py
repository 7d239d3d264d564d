"""Lexical backend: BM25 over chunks with bm25s (sparse matrices), Snowball-stemmed English."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from indexer.errors import IndexIntegrityError
from indexer.lexical.base import LexicalIndex

logger = logging.getLogger(__name__)
# bm25s sets its own logger to DEBUG at import; keep its build chatter out of our output.
logging.getLogger("bm25s").setLevel(logging.WARNING)

IDS_FILE = "chunk_ids.npy"
META_FILE = "cited.json"


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    tokens = bm25s.tokenize(
        texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
    return [list(t) for t in tokens]


class BM25Index(LexicalIndex):
    kind = "bm25s:lucene,k1=1.2,b=0.75,stem=english,stop=en"

    def __init__(self, model: bm25s.BM25, ids: np.ndarray):
        self.model = model
        self.ids = np.asarray(ids, dtype=np.int64)
        if len(self.ids) > 1 and np.any(np.diff(self.ids) <= 0):
            raise ValueError("chunk ids of a BM25 index must be strictly increasing")

    @classmethod
    def build(cls, ids: np.ndarray, texts: list[str], progress: bool = False) -> BM25Index:
        model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
        if texts:
            model.index(tokenize(texts), show_progress=progress)
        return cls(model, ids)

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        try:
            ids = np.load(folder / IDS_FILE, allow_pickle=False)
            if not len(ids):
                return cls(bm25s.BM25(method="lucene", k1=1.2, b=0.75), ids)
            model = bm25s.BM25.load(str(folder), mmap=False, allow_pickle=False)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexIntegrityError(f"{folder}: BM25 index is not readable ({exc})") from exc
        return cls(model, ids)

    def save(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / IDS_FILE, self.ids, allow_pickle=False)
        (folder / META_FILE).write_text(json.dumps({"kind": self.kind, "size": self.size}))
        if self.size:
            self.model.save(str(folder), show_progress=False)
        return sorted(p for p in folder.iterdir() if p.is_file())

    @property
    def size(self) -> int:
        return len(self.ids)

    def mask(self, allowed: np.ndarray) -> np.ndarray:
        """A boolean mask over positions: True where the chunk id is in ``allowed``."""
        allowed = np.asarray(allowed, dtype=np.int64)
        positions = np.searchsorted(self.ids, allowed)
        inside = positions < self.size
        positions, allowed = positions[inside], allowed[inside]
        mask = np.zeros(self.size, dtype=bool)
        mask[positions[self.ids[positions] == allowed]] = True
        return mask

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if not self.size:
            return empty
        vocab = self.model.vocab_dict
        terms = [t for t in tokenize([query])[0] if t in vocab]
        if not terms:
            return empty
        scores = np.asarray(self.model.get_scores(terms), dtype=np.float32)
        if allowed is not None:
            scores = np.where(self.mask(allowed), scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.lexsort((self.ids[candidates], -scores[candidates]))]
        return self.ids[order], scores[order]
