"""A small deterministic embedder that implements the real interface, for logic tests."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from indexer.embedders.base import Embedder, TextEncoder

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class HashingEmbedder(Embedder):
    """Hashed bag of lower-cased words: texts sharing words get similar unit vectors."""

    def __init__(self, dim: int = 64, max_tokens: int = 62, name: str = "test/hashing"):
        self.name = name
        self.dim = dim
        self.max_tokens = max_tokens

    def _bucket(self, word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, self._bucket(word) % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        return [[m.span() for m in _TOKEN.finditer(text)] for text in texts]


class KeywordEncoder(TextEncoder):
    """A second-stage fake: one dimension per keyword (its count in the text), unit length.

    Its similarities are exact small fractions, so a test can rank by hand.
    """

    def __init__(self, keywords: tuple[str, ...], name: str = "test/keywords"):
        self.keywords = keywords
        self.name = name
        self.dim = len(keywords) + 1
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for column, keyword in enumerate(self.keywords):
                out[row, column] = words.count(keyword)
            out[row, -1] = 0.1  # no text is the zero vector
            out[row] /= np.linalg.norm(out[row])
        return out
