"""The lead passage of an article: what a stored-vector second stage embeds once per article at
index time.

News puts its facts first, so an article's title, standfirst and opening paragraphs are the best
single passage to judge whether it answers a question (the "FirstP" document representation of
Dai and Callan, SIGIR 2019). One lead per article bounds the second stage's indexing cost by the
number of articles, not their length: a 10-chunk news article costs one second-stage encoding,
not ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cited.config import IndexSettings, default_of
from indexer.embed_cache import EmbeddingCache
from indexer.embedders.base import TextEncoder
from indexer.second_stage.record import SecondStageRecord
from indexer.types import Article

#: Characters of body text in a lead (about 250 word pieces of English).
DEFAULT_LEAD_CHARS: int = default_of(IndexSettings, "rerank_lead_chars")
#: Leads per encoder call (each is written to the cache after its call).
LEAD_BATCH = 32


def cut_at_word(text: str, max_chars: int) -> str:
    """``text`` up to ``max_chars`` characters, cut at the last whitespace when it is longer."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    space = max((head.rfind(c) for c in " \n\t"), default=-1)
    return head[:space] if space > max_chars // 2 else head


def lead_text(article: Article, max_chars: int = DEFAULT_LEAD_CHARS) -> str:
    """Title, standfirst and the first ``max_chars`` characters of the body, one per line."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    parts = [article.title.strip(), (article.standfirst or "").strip()]
    parts.append(cut_at_word(article.text.strip(), max_chars))
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class StoredLeads:
    """What the indexer stores for a stored-vector second stage: ``encoder``'s vector of each
    article's lead (``lead_chars`` body characters), one row per chunk."""

    encoder: TextEncoder
    lead_chars: int = DEFAULT_LEAD_CHARS

    def record(self) -> SecondStageRecord:
        """The manifest record of these vectors (an index with another record is rebuilt)."""
        return SecondStageRecord(
            model=self.encoder.name, dim=self.encoder.dim, lead_chars=self.lead_chars
        )

    def text(self, article: Article) -> str:
        return lead_text(article, self.lead_chars)

    def encode(
        self,
        articles: Sequence[Article],
        chunk_counts: Sequence[int],
        cache_path: Path,
        progress: bool = False,
    ) -> tuple[np.ndarray, int]:
        """One row per chunk: article ``i``'s lead vector repeated ``chunk_counts[i]`` times;
        with how many leads were encoded (the rest came from the cache at ``cache_path``)."""
        leads = [self.text(article) for article in articles]
        cache = EmbeddingCache(cache_path, self.encoder.name, self.encoder.dim)
        try:
            with tqdm(
                total=len(leads), desc="second stage", unit=" leads", disable=not progress
            ) as bar:
                vectors, encoded = cache.embed(
                    leads, self.encoder.embed_documents, LEAD_BATCH, bar.update
                )
        finally:
            cache.close()
        if not leads:
            return np.zeros((0, self.encoder.dim)), encoded
        return np.repeat(vectors, list(chunk_counts), axis=0), encoded
