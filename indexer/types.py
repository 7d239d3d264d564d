"""The shared types that flow from readers through the chunker into the index."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One article as read from the corpus.

    ``text`` is the body the index stores and cites: every chunk and citation is a slice of it.
    """

    id: str
    title: str
    text: str
    standfirst: str | None = None
    section: str | None = None
    authors: tuple[str, ...] = ()
    dateline: str | None = None
    published: str | None = None
    url: str | None = None
    source: str | None = None
    path: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article: ``article.text[start:end] == text``."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    n_tokens: int


@dataclass(frozen=True)
class Skipped:
    """An input that could not be read, with the reason; the run goes on without it."""

    path: str
    reason: str
