"""The SQLite part of an index version: articles (metadata and full text) and chunk offsets."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.errors import ArticleNotFoundError, IndexIntegrityError
from indexer.filters import Filters
from indexer.types import Article, Chunk

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
    text_hash TEXT NOT NULL
);
CREATE INDEX chunks_article ON chunks(article_id, ordinal);
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

    def add(self, article: Article, content_sha256: str, chunks: Iterable[Chunk]) -> list[int]:
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
        ids = []
        for chunk in chunks:
            cursor = self.conn.execute(
                'INSERT INTO chunks (article_id, ordinal, start, "end", n_tokens, text, text_hash) '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    chunk.article_id,
                    chunk.ordinal,
                    chunk.start,
                    chunk.end,
                    chunk.n_tokens,
                    chunk.text,
                    text_hash(chunk.text),
                ),
            )
            ids.append(int(cursor.lastrowid or 0))
        return ids

    def close(self) -> None:
        self.conn.commit()
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.close()


class Store:
    """Read-only access to a published store; safe to share between threads."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise IndexIntegrityError(f"{path}: store file is missing")
        self.path = path
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # immutable=1: SQLite never writes (no journal, no lock files) to a published version.
            conn = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True)
            self._local.conn = conn
        return conn

    def counts(self) -> tuple[int, int]:
        (articles,) = self.conn.execute("SELECT COUNT(*) FROM articles").fetchone()
        (chunks,) = self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()
        return int(articles), int(chunks)

    def article(self, article_id: str) -> Article:
        row = self.conn.execute(
            f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None:
            raise ArticleNotFoundError(f"no article with id {article_id!r} in this index")
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

    def chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        """Chunks by id (with their article titles); unknown ids are absent from the result."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            'SELECT c.id, c.article_id, a.title, c.ordinal, c.start, c."end", c.text, '
            "c.text_hash, a.published, a.source, a.authors "
            f"FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
            [int(i) for i in ids],
        ).fetchall()
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

    def chunk_ids_matching(self, filters: Filters) -> np.ndarray:
        """Sorted ids of the chunks whose article passes ``filters``."""
        where, params = filters.sql()
        rows = self.conn.execute(
            f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE {where} "
            "ORDER BY c.id",
            params,
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def chunk_ids(self) -> list[int]:
        return [int(r[0]) for r in self.conn.execute("SELECT id FROM chunks ORDER BY id")]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
