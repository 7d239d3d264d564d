"""Segments: the immutable units an index version is made of (the Lucene design).

A segment holds some articles with their chunks and vectors and is never modified once
written. A version lists its segments (hard links to the files of the version before, so an
update copies nothing it does not change) and, per segment, the articles deleted since it was
written. Updating an article deletes it from its old segment and writes it into a new one;
when a version would hold too many segments they are merged into one (without re-embedding).

A segment folder holds ``store.sqlite`` (articles and chunks) and what its vector store
(:mod:`indexer.stores`) writes: the chunk ids, their vectors and, with a second stage, one
second-stage vector per chunk (its article's lead); see :mod:`indexer.layout` for the names.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from indexer.chunk_dates import ChunkDates
from indexer.errors import ArticleNotFoundError
from indexer.filters import Filters
from indexer.layout import STORE_FILE, segment_folder
from indexer.manifest import Manifest
from indexer.store import Store, StoredChunk, StoreWriter
from indexer.stores.base import StoredSegment, VectorStore
from indexer.stores.files import link_files
from indexer.types import Article, Chunk

logger = logging.getLogger(__name__)


def segment_files(folder: Path, vectors: VectorStore, kind: str) -> list[str]:
    """The files a segment holds: its SQLite store and the files its vector store lists."""
    return [STORE_FILE, *vectors.files(folder, kind)]


def write_segment(
    folder: Path,
    articles: Sequence[tuple[Article, str, list[Chunk]]],
    ids: np.ndarray,
    vectors: np.ndarray,
    vector_store: VectorStore,
    second_stage: np.ndarray | None = None,
) -> str:
    """Write a new segment: ``articles`` as (article, content sha256, chunks), the chunks taking
    ``ids`` (increasing) in order, with their ``vectors`` (and ``second_stage`` rows)
    kept by ``vector_store``; returns the segment's vector kind (see ``VectorStore``)."""
    if second_stage is not None and len(second_stage) != len(ids):
        raise ValueError(f"{len(ids)} ids and {len(second_stage)} second-stage vectors")
    if len(ids) != sum(len(chunks) for _, _, chunks in articles) or len(ids) != len(vectors):
        raise ValueError(
            f"{len(ids)} ids and {len(vectors)} vectors for "
            f"{sum(len(c) for _, _, c in articles)} chunks"
        )
    folder.mkdir(parents=True)
    store = StoreWriter(folder / STORE_FILE)
    position = 0
    for article, sha, chunks in articles:
        store.add(article, sha, chunks, ids[position : position + len(chunks)].tolist())
        position += len(chunks)
    store.close()
    return vector_store.write_segment(folder, ids, vectors, second_stage)


def link_segment(source: Path, target: Path, vectors: VectorStore, kind: str) -> None:
    """Share a published segment with a new version: hard links (a copy where links fail)."""
    target.mkdir(parents=True)
    link_files(source, target, [STORE_FILE])
    vectors.link(source, target, kind)


def drop_segment(folder: Path, vectors: VectorStore, kind: str) -> None:
    """Delete an unpublished segment (one merged away while its version was built)."""
    vectors.drop(folder, kind)
    (folder / STORE_FILE).unlink()
    folder.rmdir()


def manifest_segments(
    version: Path,
    manifest: Manifest,
    vectors: VectorStore,
    deletions: Mapping[str, Sequence[str]],
) -> Iterator[Segment]:
    """Open the segments ``manifest`` lists in the version folder ``version``, in order, each
    with the articles ``deletions`` names for it (a generator: the caller closes what it got)."""
    second = manifest.second_stage
    for info in manifest.segments:
        yield Segment(
            segment_folder(version, info.name),
            manifest.model.dim,
            vectors,
            info.vector_index,
            deletions.get(info.name, ()),
            second.dim if second is not None else None,
        )


class Segment:
    """One segment of a published version, opened for reading, with its deleted articles."""

    def __init__(
        self,
        folder: Path,
        dim: int,
        vectors: VectorStore,
        kind: str,
        deleted: Sequence[str] = (),
        second_dim: int | None = None,
    ):
        self.folder = folder
        self.name = folder.name
        self.kind = kind
        self.vector_store = vectors
        self.rows = vectors.rows(folder, dim, second_dim)
        self.store = Store(folder / STORE_FILE)
        self.deleted = frozenset(deleted)
        self.ids = self.rows.ids
        self.second_dim = second_dim
        dead = self.store.chunk_ids_of(self.deleted) if self.deleted else np.zeros(0, np.int64)
        self.live = ~np.isin(self.ids, dead)
        self.live_ids = self.ids[self.live]
        self.dim = dim

    @property
    def stored(self) -> StoredSegment:
        """The segment as its vector store opens it."""
        return StoredSegment(self.folder, self.kind, self.ids, self.live_ids)

    def files(self) -> list[str]:
        return segment_files(self.folder, self.vector_store, self.kind)

    def live_vectors(self) -> np.ndarray:
        return np.asarray(self.rows.vectors[self.live], dtype=np.float32)

    def live_second(self) -> np.ndarray | None:
        second = self.rows.second
        return None if second is None else np.asarray(second[self.live], dtype=np.float32)

    def is_live(self, ids: np.ndarray) -> np.ndarray:
        return np.isin(ids, self.live_ids)

    def holds(self, article_id: str) -> bool:
        return article_id not in self.deleted and self.store.has_article(article_id)

    def close(self) -> None:
        self.store.close()


class SegmentedStore:
    """The articles and chunks of a version across its segments, deleted ones left out."""

    def __init__(self, segments: list[Segment]):
        self.segments = segments

    def counts(self) -> tuple[int, int]:
        # A segment's deletions name only its own articles (the writer records no others).
        articles = sum(s.store.counts()[0] - len(s.deleted) for s in self.segments)
        return articles, sum(len(s.live_ids) for s in self.segments)

    def article(self, article_id: str) -> Article:
        for segment in reversed(self.segments):
            if segment.holds(article_id):
                return segment.store.article(article_id)
        raise ArticleNotFoundError(f"no article with id {article_id!r} in this index")

    def has_article(self, article_id: str) -> bool:
        return any(segment.holds(article_id) for segment in self.segments)

    def articles(self) -> Iterator[tuple[Article, str]]:
        """Every live article with its content hash."""
        for segment in self.segments:
            for article, sha in segment.store.articles():
                if article.id not in segment.deleted:
                    yield article, sha

    def content_hashes(self) -> dict[str, str]:
        hashes: dict[str, str] = {}
        for segment in self.segments:
            for article_id, sha in segment.store.content_hashes().items():
                if article_id not in segment.deleted:
                    hashes[article_id] = sha
        return hashes

    def chunks(self, ids: list[int]) -> dict[int, StoredChunk]:
        found: dict[int, StoredChunk] = {}
        wanted = np.asarray(ids, dtype=np.int64)
        for segment in self.segments:
            mine = wanted[segment.is_live(wanted)]
            if len(mine):
                found.update(segment.store.chunks(mine.tolist()))
        return found

    def chunk_texts(self) -> Iterator[tuple[int, str, str]]:
        """``(chunk id, title, text)`` of every live chunk in id order."""
        for segment in self.segments:
            live = set(segment.live_ids.tolist())
            for row in segment.store.chunk_texts():
                if row[0] in live:
                    yield row

    def chunk_ids_matching(self, filters: Filters) -> np.ndarray:
        parts = []
        for segment in self.segments:
            ids = segment.store.chunk_ids_matching(filters)
            parts.append(ids[segment.is_live(ids)])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def chunk_ids(self) -> list[int]:
        return [int(i) for s in self.segments for i in s.live_ids]

    def chunk_dates(self) -> ChunkDates:
        """Every live chunk's article date (:class:`~indexer.chunk_dates.ChunkDates`)."""
        all_ids: list[np.ndarray] = []
        all_times: list[np.ndarray] = []
        for segment in self.segments:
            ids, times = segment.store.chunk_times()
            live = segment.is_live(ids)
            all_ids.append(ids[live])
            all_times.append(times[live])
        if not all_ids:
            return ChunkDates.of(np.zeros(0, dtype=np.int64), np.zeros(0))
        return ChunkDates.of(np.concatenate(all_ids), np.concatenate(all_times))

    def close(self) -> None:
        for segment in self.segments:
            segment.close()


def merge_segments(segments: list[Segment], folder: Path, vectors: VectorStore) -> str:
    """Write the live rows of ``segments`` into one new segment at ``folder``; returns its
    vector kind."""
    folder.mkdir(parents=True)
    StoreWriter(folder / STORE_FILE).close()
    conn = sqlite3.connect(folder / STORE_FILE)
    ids_parts, vector_parts, second_parts = [], [], []
    with_second = bool(segments) and all(s.rows.second is not None for s in segments)
    for number, segment in enumerate(segments):
        alias = f"s{number}"
        conn.execute(f"ATTACH DATABASE ? AS {alias}", (f"file:{segment.store.path}?mode=ro",))
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS gone (id TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM gone")
        conn.executemany("INSERT INTO gone VALUES (?)", [(a,) for a in segment.deleted])
        conn.execute(f"INSERT INTO articles SELECT * FROM {alias}.articles WHERE id NOT IN gone")
        conn.execute(
            f"INSERT INTO chunks SELECT * FROM {alias}.chunks WHERE article_id NOT IN gone"
        )
        conn.commit()
        conn.execute(f"DETACH DATABASE {alias}")
        ids_parts.append(segment.live_ids)
        vector_parts.append(segment.live_vectors())
        second = segment.live_second()
        if with_second and second is not None:
            second_parts.append(second)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    dim = vector_parts[0].shape[1] if vector_parts else 0
    ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, dtype=np.int64)
    stacked = np.vstack(vector_parts) if vector_parts else np.zeros((0, dim), np.float32)
    second = np.vstack(second_parts) if with_second else None
    kind = vectors.write_segment(folder, ids, stacked, second)
    logger.info("merged %d segments into %s (%d chunks)", len(segments), folder.name, len(ids))
    return kind
