"""Build an index version: read the corpus, chunk, embed, write FAISS + SQLite, publish."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.chunking import Chunker, ChunkingSettings, default_max_tokens
from indexer.embedders.base import Embedder
from indexer.errors import CitedError
from indexer.lexical.bm25 import BM25Index
from indexer.manifest import (
    FORMAT_VERSION,
    ChunkingInfo,
    Manifest,
    ModelInfo,
    file_info,
    read_manifest,
)
from indexer.readers import read_corpus
from indexer.settings import Settings
from indexer.store import StoreWriter
from indexer.types import Article, Chunk, Skipped
from indexer.vectors.faiss_flat import FaissFlatIndex
from indexer.versions import current_version, publish, start_version

logger = logging.getLogger(__name__)

STORE_FILE = "store.sqlite"
VECTORS_FILE = "vectors.faiss"
LEXICAL_DIR = "bm25"
EMBED_BATCH = 256


@dataclass
class BuildReport:
    """What a build did; the CLI prints it as the run's summary."""

    articles: int = 0
    chunks: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    version: str | None = None
    up_to_date: bool = False
    seconds: float = 0.0
    embed_seconds: float = 0.0


def content_sha256(article: Article) -> str:
    payload = json.dumps(asdict(article), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chunking_for(embedder: Embedder, max_tokens: int | None, overlap: int) -> ChunkingSettings:
    return ChunkingSettings(
        max_tokens=max_tokens or default_max_tokens(embedder.max_tokens), overlap_sentences=overlap
    )


def embed_text(article: Article, chunk: Chunk, title_context: bool) -> str:
    """The text the model sees: the title gives context; the stored chunk stays the exact slice."""
    return f"{article.title}\n{chunk.text}" if title_context and article.title else chunk.text


def build_key(embedder: Embedder, chunking: ChunkingInfo, hashes: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    head = {"format_version": FORMAT_VERSION, "model": embedder.name, "dim": embedder.dim}
    digest.update(json.dumps([head, chunking.model_dump()], sort_keys=True).encode())
    for article_id, sha in sorted(hashes):
        digest.update(f"\n{article_id}\t{sha}".encode())
    return digest.hexdigest()


def _collect(items: Iterator[Article | Skipped], report: BuildReport) -> list[Article]:
    articles = []
    for item in tqdm(items, desc="reading", unit=" articles", leave=False):
        if isinstance(item, Skipped):
            logger.info("skipped %s: %s", item.path, item.reason)
            report.skipped.append(item)
        else:
            articles.append(item)
    return articles


def build_with_settings(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    settings: Settings,
    *,
    force: bool = False,
    progress: bool = True,
) -> BuildReport:
    """:func:`build_index` with the chunking the settings describe."""
    return build_index(
        paths,
        index_dir,
        embedder,
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        title_context=settings.title_context,
        force=force,
        progress=progress,
    )


def build_index(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    *,
    chunk_tokens: int | None = None,
    chunk_overlap: int = 1,
    title_context: bool = True,
    force: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Index the articles under ``paths`` into a new published version of ``index_dir``.

    When the current version was built from the same articles with the same model and chunking,
    nothing is rebuilt (``report.up_to_date``) unless ``force`` is set.
    """
    started = time.perf_counter()
    report = BuildReport()
    articles = _collect(read_corpus(paths), report)
    settings = chunking_for(embedder, chunk_tokens, chunk_overlap)
    info = ChunkingInfo(
        max_tokens=settings.max_tokens,
        overlap_sentences=settings.overlap_sentences,
        title_context=title_context,
    )
    hashes = {a.id: content_sha256(a) for a in articles}
    key = build_key(embedder, info, hashes.items())
    if not force:
        try:
            name, folder = current_version(index_dir)
            if read_manifest(folder).build_key == key:
                report.version, report.up_to_date = name, True
                report.articles = len(articles)
                report.seconds = time.perf_counter() - started
                return report
        except CitedError:
            pass  # nothing usable published: build

    chunker = Chunker(embedder, settings)
    name, building = start_version(index_dir)
    store = StoreWriter(building / STORE_FILE)
    ids: list[int] = []
    texts: list[str] = []
    for article in tqdm(articles, desc="chunking", unit=" articles", disable=not progress):
        chunks = chunker.chunk(article.id, article.text)
        ids.extend(store.add(article, hashes[article.id], chunks))
        texts.extend(embed_text(article, c, title_context) for c in chunks)
    store.close()

    vectors = FaissFlatIndex(embedder.dim)
    embed_started = time.perf_counter()
    with tqdm(total=len(texts), desc="embedding", unit=" chunks", disable=not progress) as bar:
        for offset in range(0, len(texts), EMBED_BATCH):
            batch = texts[offset : offset + EMBED_BATCH]
            vectors.add(
                np.asarray(ids[offset : offset + EMBED_BATCH]), embedder.embed_documents(batch)
            )
            bar.update(len(batch))
    report.embed_seconds = time.perf_counter() - embed_started
    vectors.save(building / VECTORS_FILE)
    lexical = BM25Index.build(np.asarray(ids, dtype=np.int64), texts)
    lexical_files = lexical.save(building / LEXICAL_DIR)
    names = [STORE_FILE, VECTORS_FILE, *(p.relative_to(building).as_posix() for p in lexical_files)]

    manifest = Manifest(
        version=name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        model=ModelInfo(name=embedder.name, dim=embedder.dim, max_tokens=embedder.max_tokens),
        chunking=info,
        vector_index=vectors.kind,
        lexical_index=lexical.kind,
        counts={"articles": len(articles), "chunks": len(ids)},
        build_key=key,
        files={name: file_info(building / name) for name in names},
    )
    manifest.write(building)
    publish(index_dir, name, building)
    report.articles, report.chunks, report.version = len(articles), len(ids), name
    report.seconds = time.perf_counter() - started
    return report
