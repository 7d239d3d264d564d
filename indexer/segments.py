"""Segments: the immutable units an index version is made of (the Lucene design).

A segment holds some articles with their chunks and vectors and is never modified once
written. A version lists its segments (hard links to the files of the version before, so an
update copies nothing it does not change) and, per segment, the articles deleted since it was
written. Updating an article deletes it from its old segment and writes it into a new one;
when a version would hold too many segments they are merged into one (without re-embedding).

Segment folder::

    segments/s000003/  store.sqlite  chunk_ids.npy (n,) int64  vectors.npy (n, dim) float32
                       [rerank.npy (n, dim2) float32: row i is the second-stage vector of the
                        lead of chunk ids[i]'s article, when the index has a second stage]
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from indexer.errors import ArticleNotFoundError, IndexIntegrityError
from indexer.filters import Filters
from indexer.store import Store, StoredChunk, StoreWriter
from indexer.types import Article, Chunk
from indexer.vectors.faiss_ann import FaissAnnIndex, choose_vector_index

logger = logging.getLogger(__name__)

SEGMENTS = "segments"
STORE_FILE = "store.sqlite"
IDS_FILE = "chunk_ids.npy"
VECTORS_FILE = "vectors.npy"
#: Written only for segments large enough that exact search would be slow (see
#: :func:`indexer.vectors.faiss_ann.choose_vector_index`).
ANN_FILE = "ann.faiss"
#: Second-stage vectors, one row per chunk (see :mod:`indexer.second_stage.leads`); the file
#: keeps the name old indexes have.
SECOND_STAGE_FILE = "rerank.npy"
FILES = (STORE_FILE, IDS_FILE, VECTORS_FILE)


def segment_files(folder: Path) -> list[str]:
    """The files a segment holds: always :data:`FILES`, and its optional ones when present."""
    return [*FILES, *(name for name in (ANN_FILE, SECOND_STAGE_FILE) if (folder / name).is_file())]


def write_segment(
    folder: Path,
    articles: Sequence[tuple[Article, str, list[Chunk]]],
    ids: np.ndarray,
    vectors: np.ndarray,
    second_stage: np.ndarray | None = None,
) -> None:
    """Write a new segment: ``articles`` as (article, content sha256, chunks), the chunks taking
    ``ids`` (increasing) in order, with their ``vectors`` (and ``second_stage`` rows)."""
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
    _save_arrays(folder, ids, vectors, second_stage)


def _save_arrays(
    folder: Path, ids: np.ndarray, vectors: np.ndarray, second_stage: np.ndarray | None = None
) -> None:
    ids = np.asarray(ids, dtype=np.int64)
    vectors = np.asarray(vectors, dtype=np.float32)
    np.save(folder / IDS_FILE, ids, allow_pickle=False)
    np.save(folder / VECTORS_FILE, vectors, allow_pickle=False)
    if second_stage is not None:
        second = np.asarray(second_stage, dtype=np.float32)
        np.save(folder / SECOND_STAGE_FILE, second, allow_pickle=False)
    if len(ids) and choose_vector_index(len(ids), vectors.shape[1]) == "ann":
        ann = FaissAnnIndex(vectors.shape[1])
        ann.add(ids, vectors)
        ann.save(folder / ANN_FILE)
        logger.info("%s: %d vectors, approximate index %s", folder.name, len(ids), ann.kind)


def link_segment(source: Path, target: Path) -> None:
    """Share a published segment with a new version: hard links (a copy where links fail)."""
    target.mkdir(parents=True)
    for name in segment_files(source):
        try:
            os.link(source / name, target / name)
        except OSError:
            shutil.copy2(source / name, target / name)


class Segment:
    """One segment of a published version, opened for reading, with its deleted articles."""

    def __init__(
        self,
        folder: Path,
        dim: int,
        deleted: Sequence[str] = (),
        second_stage_dim: int | None = None,
    ):
        self.folder = folder
        self.name = folder.name
        self.store = Store(folder / STORE_FILE)
        self.deleted = frozenset(deleted)
        try:
            self.ids = np.load(folder / IDS_FILE, allow_pickle=False)
            shape = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False).shape
        except (OSError, ValueError) as exc:
            raise IndexIntegrityError(f"{folder}: segment arrays are not readable ({exc})") from exc
        if self.ids.ndim != 1 or shape != (len(self.ids), dim):
            raise IndexIntegrityError(
                f"{folder}: {len(self.ids)} chunk ids but vectors of shape {shape} (dim {dim})"
            )
        self.second_stage_dim = second_stage_dim
        if second_stage_dim is not None:
            self._check_second_stage(second_stage_dim)
        if len(self.ids) > 1 and np.any(np.diff(self.ids) <= 0):
            raise IndexIntegrityError(f"{folder / IDS_FILE}: chunk ids are not increasing")
        dead = self.store.chunk_ids_of(self.deleted) if self.deleted else np.zeros(0, np.int64)
        self.live = ~np.isin(self.ids, dead)
        self.live_ids = self.ids[self.live]
        self.dim = dim

    def _check_second_stage(self, dim: int) -> None:
        path = self.folder / SECOND_STAGE_FILE
        try:
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
        except (OSError, ValueError) as exc:
            raise IndexIntegrityError(f"{path}: second-stage vectors not readable ({exc})") from exc
        if shape != (len(self.ids), dim):
            raise IndexIntegrityError(
                f"{path}: shape {shape}, expected ({len(self.ids)}, {dim}) (one row per chunk)"
            )

    def second_stage_vectors(self) -> np.ndarray:
        """The segment's second-stage vectors, memory-mapped (row i is chunk ``ids[i]``)."""
        return np.load(self.folder / SECOND_STAGE_FILE, mmap_mode="r", allow_pickle=False)

    @property
    def has_ann(self) -> bool:
        return (self.folder / ANN_FILE).is_file()

    def ann(self) -> FaissAnnIndex:
        """The segment's stored approximate index; it must hold exactly the segment's rows."""
        index = FaissAnnIndex.load(self.folder / ANN_FILE, self.dim)
        if index.size != len(self.ids):
            raise IndexIntegrityError(
                f"{self.folder / ANN_FILE}: {index.size} vectors, the segment has {len(self.ids)}"
            )
        return index

    def vectors(self) -> np.ndarray:
        """All the segment's vectors, memory-mapped (row i is chunk ``ids[i]``)."""
        return np.load(self.folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)

    def live_vectors(self) -> np.ndarray:
        vectors = np.load(self.folder / VECTORS_FILE, allow_pickle=False)
        return np.asarray(vectors[self.live], dtype=np.float32)

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

    def close(self) -> None:
        for segment in self.segments:
            segment.close()


def merge_segments(segments: list[Segment], folder: Path) -> None:
    """Write the live rows of ``segments`` into one new segment at ``folder``."""
    folder.mkdir(parents=True)
    StoreWriter(folder / STORE_FILE).close()
    conn = sqlite3.connect(folder / STORE_FILE)
    ids_parts, vector_parts, second_parts = [], [], []
    with_second = bool(segments) and all((s.folder / SECOND_STAGE_FILE).is_file() for s in segments)
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
        if with_second:
            second_parts.append(
                np.asarray(segment.second_stage_vectors()[segment.live], np.float32)
            )
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    dim = vector_parts[0].shape[1] if vector_parts else 0
    ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, dtype=np.int64)
    vectors = np.vstack(vector_parts) if vector_parts else np.zeros((0, dim), np.float32)
    second_stage = np.vstack(second_parts) if with_second else None
    _save_arrays(folder, ids, vectors, second_stage)
    logger.info("merged %d segments into %s (%d chunks)", len(segments), folder.name, len(ids))
