"""Reader for BEIR-layout corpora: one JSON object per line, streamed line by line.

Each line holds ``_id``, ``title`` and ``text``, and optionally ``url``, ``publish_date``,
``authors`` (a list or a ``"A; B"`` string), ``source``, ``section``, ``standfirst`` and
``dateline``. ``publish_date`` (ISO, ``2022/06/12``, RFC 2822, ...) becomes
``Article.published`` (see :mod:`indexer.dates`); one that is not a date is kept in
``extra["publish_date_raw"]``. Other scalar fields go to ``Article.extra``. ``text`` is kept
exactly as given: it is what gets cited.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from indexer.dates import normalize_published
from indexer.readers.base import ArticleReader
from indexer.readers.text import relative_path
from indexer.types import Article, Skipped

logger = logging.getLogger(__name__)

_OPTIONAL_TEXT = ("url", "source", "section", "standfirst", "dateline")
_KNOWN = frozenset(("_id", "title", "text", "publish_date", "authors", *_OPTIONAL_TEXT))


def _authors(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list):
        return ()
    names: list[str] = []
    for item in value:
        name = " ".join(item.split()) if isinstance(item, str) else ""
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _optional_text(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def _extra(record: dict[str, Any]) -> dict[str, str]:
    extra: dict[str, str] = {}
    for key, value in record.items():
        if key in _KNOWN or value is None or value == "" or value == {} or value == []:
            continue
        if isinstance(value, str):
            extra[key] = value
        else:
            extra[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return extra


def parse_record(record: object, rel: str, lineno: int) -> Article | str:
    """One decoded JSON line as an :class:`Article`, or the reason it cannot be one.

    The line number goes to ``extra["line"]``, so a record can be found again.
    """
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    raw_id = record.get("_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or str(raw_id) == "":
        return f"missing or invalid '_id' ({raw_id!r}); expected a non-empty string or integer"
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        found = f"{text!r:.40}"
        return f"article '{raw_id}' has no text ('text' is {found}); expected a non-empty string"
    title = record.get("title")
    if title is not None and not isinstance(title, str):
        return f"article '{raw_id}' has a non-string title ({type(title).__name__})"
    extra = _extra(record)
    published: str | None = None
    raw_date = record.get("publish_date")
    if isinstance(raw_date, str) and raw_date.strip():
        published = normalize_published(raw_date)
        if published is None:
            extra["publish_date_raw"] = raw_date
    extra["line"] = str(lineno)
    return Article(
        id=str(raw_id),
        title=" ".join((title or "").split()),
        text=text,
        authors=_authors(record.get("authors")),
        published=published,
        path=rel,
        url=_optional_text(record, "url"),
        source=_optional_text(record, "source"),
        section=_optional_text(record, "section"),
        standfirst=_optional_text(record, "standfirst"),
        dateline=_optional_text(record, "dateline"),
        extra=extra,
    )


class JsonlArticleReader(ArticleReader):
    """Reads a ``.jsonl`` corpus record by record; a bad line is skipped as ``file.jsonl:N``."""

    suffixes = (".jsonl",)

    def read(self, path: Path, root: Path) -> Iterator[Article | Skipped]:
        rel = relative_path(path, root)
        try:
            handle = path.open("rb")
        except OSError as exc:
            yield Skipped(rel, f"cannot read file: {exc.strerror or exc}")
            return
        read = skipped = 0
        with handle:
            for lineno, raw in enumerate(handle, start=1):
                where = f"{rel}:{lineno}"
                try:
                    line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    skipped += 1
                    yield Skipped(where, f"not valid UTF-8: {exc.reason} at byte {exc.start}")
                    continue
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    skipped += 1
                    yield Skipped(where, f"invalid JSON: {exc.msg} at column {exc.colno}")
                    continue
                result = parse_record(record, rel, lineno)
                if isinstance(result, str):
                    skipped += 1
                    yield Skipped(where, result)
                else:
                    read += 1
                    yield result
        logger.info("read %s: %d articles, %d lines skipped", rel, read, skipped)
