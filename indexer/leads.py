"""The lead passage of an article: what the second stage (``hybrid+rerank``) embeds once per
article at index time.

News puts its facts first, so an article's title, standfirst and opening paragraphs are the best
single passage to judge whether it answers a question (the "FirstP" document representation of
Dai and Callan, SIGIR 2019). One lead per article bounds the second stage's indexing cost by the
number of articles, not their length: a 10-chunk news article costs one second-stage encoding,
not ten.
"""

from __future__ import annotations

from dataclasses import dataclass

from cited.config import IndexSettings, default_of
from indexer.embedders.base import TextEncoder
from indexer.manifest import RerankInfo
from indexer.types import Article

#: Characters of body text in a lead (about 250 word pieces of English).
DEFAULT_LEAD_CHARS: int = default_of(IndexSettings, "rerank_lead_chars")


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
class SecondStage:
    """What the indexer needs to store second-stage vectors: the encoder and the lead size."""

    encoder: TextEncoder
    lead_chars: int = DEFAULT_LEAD_CHARS

    def info(self) -> RerankInfo:
        return RerankInfo(model=self.encoder.name, dim=self.encoder.dim, lead_chars=self.lead_chars)

    def text(self, article: Article) -> str:
        return lead_text(article, self.lead_chars)
