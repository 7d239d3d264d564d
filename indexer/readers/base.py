"""The reader interface: one file in, articles (or skip reports) out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

from indexer.types import Article, Skipped


class ArticleReader(ABC):
    """Reads one kind of file into articles.

    A reader never raises for bad input: it yields a :class:`Skipped` naming the path (and the
    line, for multi-record files) with the reason, and goes on with the next record.
    """

    #: Lower-case file suffixes this reader handles, with the dot (``".txt"``).
    suffixes: tuple[str, ...] = ()

    @abstractmethod
    def read(self, path: Path, root: Path) -> Iterator[Article | Skipped]:
        """Yield the articles in ``path``; ids derive from ``path`` relative to ``root``."""
