"""Reader for saved HTML news pages: trafilatura finds the article text and its metadata."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from indexer.dates import normalize_published
from indexer.readers.base import ArticleReader
from indexer.readers.text import path_article_id, relative_path
from indexer.types import Article, Skipped

logger = logging.getLogger(__name__)


def _extract(data: bytes) -> Mapping[str, Any] | None:
    """Run trafilatura on a page; its metadata and text as a mapping, or None if it finds none.

    trafilatura 2.x returns a ``Document`` (1.x a dict); both become a mapping here.
    """
    import trafilatura  # imported on first use: it is only needed for HTML corpora

    result = trafilatura.bare_extraction(
        data, with_metadata=True, include_comments=False, include_tables=True
    )
    if result is None:
        return None
    if isinstance(result, Mapping):
        return result
    as_dict = getattr(result, "as_dict", None)
    if callable(as_dict):
        found = as_dict()
        if isinstance(found, Mapping):
            return found
    return {name: getattr(result, name, None) for name in getattr(result, "__slots__", ())}


def _text_or_none(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return None


def split_authors(value: object) -> tuple[str, ...]:
    """trafilatura's ``"A; B"`` author string as a tuple of names, without duplicates."""
    if not isinstance(value, str):
        return ()
    names: list[str] = []
    for part in value.split(";"):
        name = " ".join(part.split())
        if name and name not in names:
            names.append(name)
    return tuple(names)


def paragraphs(text: str, title: str | None) -> str:
    """trafilatura's one-line-per-paragraph text as paragraphs separated by a blank line.

    A first line repeating the headline (the page's ``<h1>``) is dropped: the title has its
    own field.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and title and " ".join(lines[0].split()).casefold() == title.casefold():
        lines = lines[1:]
    return "\n\n".join(lines)


class HtmlArticleReader(ArticleReader):
    """Reads the one article of an ``.html`` / ``.htm`` page."""

    suffixes = (".html", ".htm")

    def read(self, path: Path, root: Path) -> Iterator[Article | Skipped]:
        rel = relative_path(path, root)
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Skipped(rel, f"cannot read file: {exc.strerror or exc}")
            return
        if not data.strip():
            yield Skipped(rel, "empty file: no HTML")
            return
        try:
            found = _extract(data)
        except Exception as exc:  # trafilatura/lxml can fail in many ways on broken pages
            logger.warning("trafilatura failed on %s: %s", rel, exc)
            yield Skipped(rel, f"HTML extraction failed: {type(exc).__name__}: {exc}")
            return
        title = _text_or_none(found.get("title")) if found else None
        text = paragraphs(found.get("text") or "", title) if found else ""
        if found is None or not text:
            yield Skipped(rel, "no article text found in the HTML page")
            return
        date = found.get("date")
        published = normalize_published(date) if isinstance(date, str) else None
        categories = found.get("categories") or []
        extra: dict[str, str] = {}
        for key in ("hostname", "language"):
            value = _text_or_none(found.get(key))
            if value:
                extra[key] = value
        tags = [t for t in (found.get("tags") or []) if isinstance(t, str) and t.strip()]
        if tags:
            extra["tags"] = ", ".join(tags)
        yield Article(
            id=path_article_id(path, root),
            title=title or "",
            text=text,
            standfirst=_text_or_none(found.get("description")),
            section=next((c for c in categories if isinstance(c, str) and c.strip()), None),
            authors=split_authors(found.get("author")),
            published=published,
            url=_text_or_none(found.get("url")),
            source=_text_or_none(found.get("sitename")),
            path=rel,
            extra=extra,
        )
