"""Corpus readers: files and folders in, articles (or skip reports) out.

:func:`read_corpus` is the entry point: it walks the given paths, picks a reader by suffix,
turns anything that goes wrong with one file into a :class:`Skipped`, and skips duplicate ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from indexer.readers.base import ArticleReader
from indexer.readers.html import HtmlArticleReader
from indexer.readers.jsonl import JsonlArticleReader
from indexer.readers.text import TextArticleReader, relative_path
from indexer.types import Article, Skipped

__all__ = [
    "READERS",
    "ArticleReader",
    "HtmlArticleReader",
    "JsonlArticleReader",
    "TextArticleReader",
    "read_corpus",
    "reader_for",
    "supported_suffixes",
]

logger = logging.getLogger(__name__)

#: One instance of every reader; :func:`reader_for` picks among them by suffix.
READERS: list[ArticleReader] = [TextArticleReader(), HtmlArticleReader(), JsonlArticleReader()]


def supported_suffixes() -> tuple[str, ...]:
    """Every suffix some reader handles, sorted (``(".htm", ".html", ".jsonl", ...)``)."""
    return tuple(sorted({suffix for reader in READERS for suffix in reader.suffixes}))


def reader_for(path: Path) -> ArticleReader | None:
    """The reader for ``path``'s suffix (case-insensitive), or None if no reader handles it."""
    suffix = path.suffix.lower()
    return next((reader for reader in READERS if suffix in reader.suffixes), None)


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _corpus_files(paths: list[Path]) -> Iterator[tuple[Path, Path] | Skipped]:
    """``(file, root)`` pairs: folders walked recursively in sorted order, hidden files left out."""
    for given in paths:
        if given.is_dir():
            found = [p for p in given.rglob("*") if p.is_file() and not _is_hidden(p, given)]
            logger.info("found %d files under %s", len(found), given)
            for file in sorted(found, key=lambda p: p.relative_to(given).as_posix()):
                yield file, given
        elif given.is_file():
            yield given, given.parent
        else:
            yield Skipped(str(given), "no such file or directory")


def _read_file(path: Path, root: Path) -> Iterator[Article | Skipped]:
    """The reader's output for one file; an unknown suffix or a reader crash becomes a Skipped."""
    rel = relative_path(path, root)
    reader = reader_for(path)
    if reader is None:
        kind = f"'{path.suffix.lower()}'" if path.suffix else "(no suffix)"
        yield Skipped(
            rel, f"unsupported file type {kind}; supported: {', '.join(supported_suffixes())}"
        )
        return
    try:
        yield from reader.read(path, root)
    except Exception as exc:  # one broken file must not end the run
        logger.exception("%s failed on %s", type(reader).__name__, rel)
        yield Skipped(rel, f"{type(reader).__name__} failed: {type(exc).__name__}: {exc}")


def _location(article: Article) -> str:
    path = article.path or "?"
    line = article.extra.get("line")
    return f"{path}:{line}" if line else path


def read_corpus(paths: list[Path]) -> Iterator[Article | Skipped]:
    """Every article under ``paths`` (files or folders), with a :class:`Skipped` per bad input.

    Ids of files inside a folder derive from their path relative to that folder; a file given
    directly derives its id relative to its own folder. An id already read earlier in the run
    is skipped, naming where it was first read.
    """
    first_seen: dict[str, str] = {}
    articles = skipped = 0
    for entry in _corpus_files(paths):
        if isinstance(entry, Skipped):
            skipped += 1
            yield entry
            continue
        path, root = entry
        for item in _read_file(path, root):
            if isinstance(item, Skipped):  # name the file as the user can find it
                item = Skipped(str(root / item.path), item.reason)
            if isinstance(item, Article):
                where = str(root / _location(item))
                first = first_seen.get(item.id)
                if first is not None:
                    reason = f"duplicate article id '{item.id}': first read from {first}"
                    item = Skipped(where, reason)
                else:
                    first_seen[item.id] = where
                    articles += 1
            if isinstance(item, Skipped):
                skipped += 1
            yield item
    logger.info("read %d articles, skipped %d inputs", articles, skipped)
