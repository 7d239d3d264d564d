"""Corpus readers: files and folders in, articles (or skip reports) out.

:func:`read_corpus` is the entry point: it walks the given paths, picks a reader by suffix,
turns anything that goes wrong with one file into a :class:`Skipped`, and skips duplicate ids.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path

from indexer.dates import parse_reference, resolve_relative
from indexer.ids import ID_RULE, id_problem
from indexer.readers.base import ArticleReader
from indexer.readers.html import HtmlArticleReader
from indexer.readers.jsonl import JsonlArticleReader
from indexer.readers.text import TextArticleReader, relative_path
from indexer.types import Article, Skipped

__all__ = [
    "READERS",
    "SIDECAR_SUFFIX",
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


#: ``story.txt.meta.json`` beside ``story.txt`` holds what the file itself cannot say:
#: ``{"published_at": "2023-06-02T10:00Z"}``, the time the page was saved, against which a
#: relative byline ("5 HOURS AGO") is resolved. Sidecars are read with their file, never alone.
SIDECAR_SUFFIX = ".meta.json"


def supported_suffixes() -> tuple[str, ...]:
    """Every suffix some reader handles, sorted (``(".htm", ".html", ".jsonl", ...)``)."""
    return tuple(sorted({suffix for reader in READERS for suffix in reader.suffixes}))


def reader_for(path: Path) -> ArticleReader | None:
    """The reader for ``path``'s suffix (case-insensitive), or None if no reader handles it."""
    suffix = path.suffix.lower()
    return next((reader for reader in READERS if suffix in reader.suffixes), None)


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _is_sidecar(path: Path) -> bool:
    name = path.name
    return name.endswith(SIDECAR_SUFFIX) and path.with_name(name[: -len(SIDECAR_SUFFIX)]).is_file()


def _sidecar_reference(path: Path) -> dt.datetime | Skipped | None:
    """The ``published_at`` of ``path``'s sidecar; None without one; a Skipped if it is bad."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return None
    try:
        value = json.loads(sidecar.read_text(encoding="utf-8")).get("published_at")
        return parse_reference(value) if isinstance(value, str) else None
    except (OSError, ValueError, AttributeError) as exc:
        reason = f'not a JSON object with an ISO "published_at" ({exc}); its article has no date'
        return Skipped(str(sidecar), reason)


def _dated(article: Article, reference: dt.datetime | None) -> Article:
    """``article`` with its relative byline time resolved against ``reference``, if both are
    there and the source gave no absolute date."""
    relative = article.extra.get("published_relative")
    if article.published or not relative or reference is None:
        return article
    published = resolve_relative(relative, reference)
    if published is None:
        return article
    extra = {**article.extra, "published_reference": reference.isoformat(timespec="seconds")}
    return dataclasses.replace(article, published=published, extra=extra)


def _corpus_files(paths: list[Path]) -> Iterator[tuple[Path, Path] | Skipped]:
    """``(file, root)`` pairs: folders walked recursively in sorted order, hidden files left out."""
    for given in paths:
        if given.is_dir():
            found = [
                p
                for p in given.rglob("*")
                if p.is_file() and not _is_hidden(p, given) and not _is_sidecar(p)
            ]
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


def read_corpus(
    paths: list[Path], published_at: dt.datetime | None = None
) -> Iterator[Article | Skipped]:
    """Every article under ``paths`` (files or folders), with a :class:`Skipped` per bad input.

    A relative byline time ("5 HOURS AGO") becomes a date only against a reference: the file's
    sidecar ``published_at`` (:data:`SIDECAR_SUFFIX`), else ``published_at``; without either
    the article's date stays unknown.

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
        reference = _sidecar_reference(path)
        if isinstance(reference, Skipped):
            skipped += 1
            yield reference
            reference = None
        for item in _read_file(path, root):
            if isinstance(item, Skipped):  # name the file as the user can find it
                item = Skipped(str(root / item.path), item.reason)
            if isinstance(item, Article):
                item = _dated(item, reference or published_at)
                where = str(root / _location(item))
                first = first_seen.get(item.id)
                problem = id_problem(item.id)
                if problem is not None:
                    item = Skipped(
                        where, f"article id {item.id[:80]!r} {problem}; an id is {ID_RULE}"
                    )
                elif first is not None:
                    reason = f"duplicate article id '{item.id}': first read from {first}"
                    item = Skipped(where, reason)
                else:
                    first_seen[item.id] = where
                    articles += 1
            if isinstance(item, Skipped):
                skipped += 1
            yield item
    logger.info("read %d articles, skipped %d inputs", articles, skipped)
