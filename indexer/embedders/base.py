"""The embedder interface: texts in, unit-length float32 vectors out, plus the model's tokens."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Tokenizer(ABC):
    """Counts text in the embedding model's own tokens, with character offsets."""

    @abstractmethod
    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """For each text, the ``(start, end)`` character span of every token (no special tokens)."""

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(offsets) for offsets in self.token_offsets(texts)]


class TextEncoder(ABC):
    """Texts in, unit-length float32 vectors out (the second stage needs no more than this).

    ``embed_documents`` is the one required verb; queries go through ``embed_query`` so that models
    with query/passage prompts can tell them apart.
    """

    #: A stable model id recorded in the index manifest.
    name: str
    #: Vector dimension.
    dim: int

    @abstractmethod
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Return an ``(len(texts), dim)`` float32 array of unit-length vectors."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_queries([text])[0]


class Embedder(Tokenizer, TextEncoder):
    """A sentence embedding model that also tokenises, so the chunker can size chunks for it."""

    #: The longest input, in tokens without the special ones, that the model reads whole.
    max_tokens: int
