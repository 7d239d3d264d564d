"""The SQLite part of an index segment: articles (metadata and full text) and chunk offsets."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.dates import published_timestamp
from indexer.errors import ArticleNotFoundError, IndexIntegrityError
from indexer.filters import Filters
from indexer.types import Article, Chunk

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    standfirst TEXT,
    section TEXT,
    authors TEXT NOT NULL,
    dateline TEXT,
    published TEXT,
    url TEXT,
    source TEXT,
    path TEXT,
    extra TEXT NOT NULL,
    content_sha256 TEXT NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id),
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    published_ts REAL
);
CREATE INDEX chunks_article ON chunks(article_id, ordinal);
CREATE INDEX chunks_published ON chunks(published_ts);
"""

_ARTICLE_COLUMNS = (
    "id, title, text, standfirst, section, authors, dateline, published, url, source, path, extra"
)


_WORDS = re.compile(r"\w+", re.UNICODE)


def text_hash(text: str) -> str:
    """Equal for texts that differ only in case, punctuation or spacing (syndicated copies)."""
    return hashlib.sha1(" ".join(_WORDS.findall(text.lower())).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the index holds it, with its article's metadata for display."""

    id: int
    article_id: str
    title: str
    ordinal: int
    start: int
    end: int
    text: str
    text_hash: str
    published: str | None
    source: str | None
    authors: tuple[str, ...]


class StoreWriter:
    """Writes a new store file; used only inside an unpublished version folder."""

    def __init__(self, path: Path):
        if path.exists():
            raise FileExistsError(f"{path} exists: a store file is written once, never modified")
        self.conn = sqlite3.connect(path)
        self.conn.executescript(SCHEMA)

    def add(
        self, article: Article, content_sha256: str, chunks: Iterable[Chunk], ids: Iterable[int]
    ) -> None:
        """Store ``article`` and its ``chunks`` under the given chunk ``ids`` (one per chunk)."""
        self.conn.execute(
            f"INSERT INTO articles ({_ARTICLE_COLUMNS}, content_sha256) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.title,
                article.text,
                article.standfirst,
                article.section,
                json.dumps(list(article.authors)),
                article.dateline,
                article.published,
                article.url,
                article.source,
                article.path,
                json.dumps(article.extra),
                content_sha256,
            ),
        )
        when = published_timestamp(article.published)
        published_ts = None if math.isnan(when) else when
        for chunk, chunk_id in zip(chunks, ids, strict=True):
            self.conn.execute(
                "INSERT INTO chunks "
                '(id, article_id, ordinal, start, "end", n_tokens, text, text_hash, published_ts) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    int(chunk_id),
                    chunk.article_id,
                    chunk.ordinal,
                    chunk.start,
                    chunk.end,
                    chunk.n_tokens,
                    chunk.text,
                    text_hash(chunk.text),
                    published_ts,
                ),
            )

    def close(self) -> None:
        self.conn.commit()
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.close()


class Store:
    """Read-only access to one published store file; safe to share between threads.

    The connection opens at once (not per thread, not lazily): a version whose folder is later
    garbage-collected keeps working for the readers that hold it open.
    """

    def __init__(self, path: Path):
        if not path.is_file():
            raise IndexIntegrityError(f"{path}: store file is missing")
        self.path = path
        # immutable=1: SQLite never writes (no journal, no lock files) to a published version.
        self._conn = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as exc:
                raise IndexIntegrityError(f"{self.path}: {exc}") from exc

    def counts(self) -> tuple[int, int]:
        ((articles,),) = self._rows("SELECT COUNT(*) FROM articles")
        ((chunks,),) = self._rows("SELECT COUNT(*) FROM chunks")
        return int(articles), int(chunks)

    def has_article(self, article_id: str) -> bool:
        return bool(self._rows("SELECT 1 FROM articles WHERE id = ?", (article_id,)))

    def article(self, article_id: str) -> Article:
        rows = self._rows(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,))
        if not rows:
            raise ArticleNotFoundError(f"no article with id {article_id!r} in this index")
        return _article(rows[0])

    def articles(self) -> Iterator[tuple[Article, str]]:
        """Every article with its content hash, in id order."""
        for row in self._rows(
            f"SELECT {_ARTICLE_COLUMNS}, content_sha256 FROM articles ORDER BY id"
        ):
            yield _article(row), str(row[-1])

    def content_hashes(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._rows("SELECT id, content_sha256 FROM articles")}

    def chunk_ids_of(self, article_ids: Iterable[str]) -> np.ndarray:
        """Sorted chunk ids of the given articles."""
        wanted = sorted(set(article_ids))
        found: list[int] = []
        for offset in range(0, len(wanted), 500):
            part = wanted[offset : offset + 500]
            marks = ",".join("?" * len(part))
            found.extend(
                r[0]
                for r in self._rows(f"SELECT id FROM chunks WHERE article_id IN ({marks})", part)
            )
        return np.asarray(sorted(found), dtype=np.int64)

    def chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        """Chunks by id (with their article titles); unknown ids are absent from the result."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._rows(
            'SELECT c.id, c.article_id, a.title, c.ordinal, c.start, c."end", c.text, '
            "c.text_hash, a.published, a.source, a.authors "
            f"FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        )
        return {
            row[0]: StoredChunk(
                id=row[0],
                article_id=row[1],
                title=row[2],
                ordinal=row[3],
                start=row[4],
                end=row[5],
                text=row[6],
                text_hash=row[7],
                published=row[8],
                source=row[9],
                authors=tuple(json.loads(row[10])),
            )
            for row in rows
        }

    def chunk_texts(self) -> list[tuple[int, str, str]]:
        """``(chunk id, article title, chunk text)`` of every chunk, in id order."""
        return [
            (int(r[0]), str(r[1]), str(r[2]))
            for r in self._rows(
                "SELECT c.id, a.title, c.text FROM chunks c JOIN articles a "
                "ON a.id = c.article_id ORDER BY c.id"
            )
        ]

    def chunk_ids_matching(self, filters: Filters) -> np.ndarray:
        """Sorted ids of the chunks whose article passes ``filters``."""
        where, params = filters.sql()
        rows = self._rows(
            f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE {where} "
            "ORDER BY c.id",
            params,
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def chunk_ids(self) -> list[int]:
        return [int(r[0]) for r in self._rows("SELECT id FROM chunks ORDER BY id")]

    def chunk_times(self) -> tuple[np.ndarray, np.ndarray]:
        """Every chunk id (in id order) and its article's publication time (seconds since the
        epoch, UTC; NaN unknown). Stores written before dates were kept per chunk have no
        ``published_ts`` column: their times come from the article rows (the upgrade path)."""
        columns = {r[1] for r in self._rows("PRAGMA table_info(chunks)")}
        if "published_ts" in columns:
            rows = self._rows("SELECT id, published_ts FROM chunks ORDER BY id")
            times = [math.nan if r[1] is None else float(r[1]) for r in rows]
        else:
            logger.info(
                "%s predates per-chunk dates: they are read from its articles (`cited index "
                "--force` stores them)",
                self.path,
            )
            rows = self._rows(
                "SELECT c.id, a.published FROM chunks c JOIN articles a ON a.id = c.article_id "
                "ORDER BY c.id"
            )
            times = [published_timestamp(r[1]) for r in rows]
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.asarray(times, dtype=np.float64)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _article(row: Sequence[Any]) -> Article:
    return Article(
        id=row[0],
        title=row[1],
        text=row[2],
        standfirst=row[3],
        section=row[4],
        authors=tuple(json.loads(row[5])),
        dateline=row[6],
        published=row[7],
        url=row[8],
        source=row[9],
        path=row[10],
        extra=json.loads(row[11]),
    )
