"""Change the index: add, update and delete articles, each change a new published version.

Only what changed is chunked and embedded: an article whose content hash is already live is
skipped, vectors come from the embedding cache when their text was embedded before, and the
new version shares the unchanged segments of the previous one by hard links. A change of model
or chunking rebuilds every segment from the articles the index holds (the cache still saves
every embedding it knows).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cited.config import IndexSettings, default_of
from indexer.chunking import Chunker, ChunkingSettings, default_max_tokens
from indexer.embed_cache import EmbeddingCache
from indexer.embedders.base import Embedder
from indexer.errors import CitedError, IndexIntegrityError
from indexer.lexical.bm25 import BM25Index
from indexer.manifest import (
    ChunkingInfo,
    FileInfo,
    Manifest,
    ModelInfo,
    SegmentInfo,
    file_info,
    read_manifest,
    verify_files,
)
from indexer.second_stage.leads import StoredLeads
from indexer.segments import (
    SEGMENTS,
    Segment,
    SegmentedStore,
    link_segment,
    merge_segments,
    segment_files,
    write_segment,
)
from indexer.types import Article, Chunk, Skipped
from indexer.vectors.faiss_ann import EXACT_MAX_VECTORS_384
from indexer.versions import (
    VERSIONS,
    collect_garbage,
    current_version,
    publish,
    published_versions,
    start_version,
    version_number,
    writer_lock,
)

logger = logging.getLogger(__name__)

LEXICAL_DIR = "bm25"
DELETIONS_FILE = "deletions.json"
CACHE_FILE = Path("cache") / "embeddings.sqlite"
EMBED_BATCH = 256


@dataclass
class BuildReport:
    """What a change did; the CLI prints it as the run's summary."""

    articles: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    version: str | None = None
    up_to_date: bool = False
    rebuilt: bool = False
    segments: int = 0
    embedded: int = 0
    #: Article leads encoded by the second stage (the rest came from the cache).
    leads_embedded: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0


@dataclass(frozen=True)
class UpdateOptions:
    """How to chunk and embed, and how versions are kept."""

    chunk_tokens: int | None = default_of(IndexSettings, "chunk_tokens")
    chunk_overlap: int = default_of(IndexSettings, "chunk_overlap")
    title_context: bool = default_of(IndexSettings, "title_context")
    max_segments: int = default_of(IndexSettings, "max_segments")
    grace_s: float = default_of(IndexSettings, "version_grace_s")
    keep_versions: int = default_of(IndexSettings, "keep_versions")
    lock_wait_s: float = 600.0
    progress: bool = True
    #: The embedding cache file; default ``<index>/cache/embeddings.sqlite``.
    cache_path: Path | None = None
    #: Store second-stage vectors (article leads) for ``hybrid+rerank``; None: no second stage.
    second_stage: StoredLeads | None = None


def content_sha256(article: Article) -> str:
    payload = json.dumps(asdict(article), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chunking_for(embedder: Embedder, max_tokens: int | None, overlap: int) -> ChunkingSettings:
    return ChunkingSettings(
        max_tokens=max_tokens or default_max_tokens(embedder.max_tokens), overlap_sentences=overlap
    )


def embed_text(title: str, text: str, title_context: bool) -> str:
    """The text the model sees: the title gives context; the stored chunk stays the exact slice."""
    return f"{title}\n{text}" if title_context and title else text


@dataclass
class _Base:
    """The current version, as the starting point of a change."""

    name: str
    folder: Path
    manifest: Manifest
    segments: list[Segment]


def _open_base(index_dir: Path, dim: int, fallback: bool) -> _Base | None:
    """The current version, verified (a change never builds on damaged files), or None.

    With ``fallback`` (a forced rebuild), a damaged current version gives way to the newest
    version that verifies, so a rebuild loses only the damaged version's own changes.
    """
    try:
        name, folder = current_version(index_dir)
    except CitedError:
        return None
    try:
        manifest = read_manifest(folder)
        verify_files(folder, manifest)
    except CitedError as exc:
        if not fallback:
            raise IndexIntegrityError(
                f"current version {name} is damaged, nothing was changed: {exc}. "
                "`cited verify --all` lists the versions that are intact; `cited index "
                "--force PATH...` rebuilds from the newest intact one plus PATH"
            ) from exc
        for older in reversed(published_versions(index_dir)):
            if version_number(older) >= version_number(name):
                continue
            try:
                manifest = read_manifest(index_dir / VERSIONS / older)
                verify_files(index_dir / VERSIONS / older, manifest)
            except CitedError:
                continue
            logger.warning("version %s is damaged (%s): rebuilding from %s", name, exc, older)
            name, folder = older, index_dir / VERSIONS / older
            break
        else:
            raise
    deletions = json.loads((folder / DELETIONS_FILE).read_text(encoding="utf-8"))
    second_dim = manifest.second_stage.dim if manifest.second_stage is not None else None
    segments = [
        Segment(folder / SEGMENTS / s.name, dim, deletions.get(s.name, ()), second_dim)
        for s in manifest.segments
    ]
    return _Base(name, folder, manifest, segments)


def update_index(
    index_dir: Path,
    embedder: Embedder,
    articles: Sequence[Article] = (),
    delete: Sequence[str] = (),
    *,
    prune: bool = False,
    force: bool = False,
    options: UpdateOptions | None = None,
) -> BuildReport:
    """Add or update ``articles`` and remove the ``delete`` ids (with ``prune``, also every
    article not among ``articles``); publish the result as a new version unless nothing changed.
    ``force`` rebuilds every segment even when nothing changed."""
    options = options or UpdateOptions()
    started = time.perf_counter()
    chunking = chunking_for(embedder, options.chunk_tokens, options.chunk_overlap)
    info = ChunkingInfo(
        max_tokens=chunking.max_tokens,
        overlap_sentences=chunking.overlap_sentences,
        title_context=options.title_context,
    )
    with writer_lock(index_dir, options.lock_wait_s):
        report = _update(
            index_dir, embedder, articles, delete, prune, force, chunking, info, options
        )
        if report.version and not report.up_to_date:
            collect_garbage(index_dir, options.grace_s, options.keep_versions)
    report.seconds = time.perf_counter() - started
    return report


def _update(
    index_dir: Path,
    embedder: Embedder,
    articles: Sequence[Article],
    delete: Sequence[str],
    prune: bool,
    force: bool,
    chunking: ChunkingSettings,
    info: ChunkingInfo,
    options: UpdateOptions,
) -> BuildReport:
    report = BuildReport()
    # A forced rebuild, or a prune (the result is exactly ``articles``), loses nothing by
    # starting from an older intact version or from nothing.
    try:
        base = _open_base(index_dir, embedder.dim, fallback=force or prune)
    except CitedError as exc:
        if not (force or prune):
            raise
        logger.warning("no intact version: rebuilding from the given articles only (%s)", exc)
        base = None
    second = options.second_stage.record() if options.second_stage is not None else None
    second_dim = second.dim if second is not None else None
    compatible = (
        base is not None
        and base.manifest.model.name == embedder.name
        and base.manifest.model.dim == embedder.dim
        and base.manifest.chunking == info
        and base.manifest.second_stage == second
    )
    incoming = {a.id: a for a in articles}  # the last copy of an id wins
    kept: list[Segment] = base.segments if base is not None and compatible else []
    live = SegmentedStore(kept).content_hashes()
    if base is not None and not compatible:
        logger.info(
            "model, chunking or second stage changed since %s: rebuilding every segment",
            base.name,
        )
    rebuild = base is not None and (force or not compatible)
    carried: dict[str, tuple[Article, str]] = {}
    if rebuild and base is not None:
        previous = SegmentedStore(base.segments) if base.segments else None
        if previous is not None:
            carried = {a.id: (a, sha) for a, sha in previous.articles()}
        kept, live = [], {}

    hashes = {article_id: content_sha256(a) for article_id, a in incoming.items()}
    changed: list[tuple[Article, str]] = []
    for article_id, article in incoming.items():
        if live.get(article_id) == hashes[article_id] and not rebuild:
            report.unchanged.append(article_id)
        else:
            known = article_id in live or article_id in carried
            (report.updated if known else report.added).append(article_id)
            changed.append((article, hashes[article_id]))
    gone = {i for i in delete if i in live or i in carried}
    report.not_found = [i for i in dict.fromkeys(delete) if i not in gone]
    if prune:
        gone |= {i for i in [*live, *carried] if i not in incoming}
    gone -= set(incoming)
    report.deleted = sorted(gone)
    for article_id, (article, sha) in sorted(carried.items()):
        if article_id not in incoming and article_id not in gone:
            changed.append((article, sha))

    if base is not None and not changed and not gone and not rebuild:
        report.version, report.up_to_date = base.name, True
        report.articles = len(live)
        report.chunks = sum(len(s.live_ids) for s in kept)
        return report
    report.rebuilt = rebuild
    name, building = start_version(index_dir)
    number = version_number(name)
    next_id = base.manifest.next_chunk_id if base is not None else 1

    # Old segments: mark replaced and deleted articles; drop segments with nothing left.
    replaced = gone | {a.id for a, _ in changed}
    deletions: dict[str, list[str]] = {}
    segments: list[Segment] = []
    for segment in kept:
        dead = sorted(segment.deleted | {a for a in replaced if segment.holds(a)})
        segment_articles = segment.store.counts()[0]
        if len(dead) >= segment_articles:
            continue
        link_segment(segment.folder, building / SEGMENTS / segment.name)
        deletions[segment.name] = dead
        segments.append(Segment(building / SEGMENTS / segment.name, embedder.dim, dead, second_dim))

    if changed:
        new_name = f"s{number:06d}"
        next_id = _write_new_segment(
            building / SEGMENTS / new_name,
            changed,
            next_id,
            embedder,
            index_dir,
            info,
            chunking,
            options,
            report,
        )
        segments.append(Segment(building / SEGMENTS / new_name, embedder.dim, (), second_dim))

    rows = sum(len(s.ids) for s in segments)
    dead_rows = rows - sum(len(s.live_ids) for s in segments)
    if len(segments) > options.max_segments or (len(segments) > 1 and dead_rows * 2 > rows):
        merged = building / SEGMENTS / f"m{number:06d}"
        merge_segments(segments, merged)
        for segment in segments:
            segment.close()
        for old in [s.folder for s in segments]:
            for file in segment_files(old):
                (old / file).unlink()
            old.rmdir()
        segments, deletions = [Segment(merged, embedder.dim, (), second_dim)], {}

    store = SegmentedStore(segments)
    texts, ids = [], []
    for chunk_id, title, text in store.chunk_texts():
        ids.append(chunk_id)
        texts.append(embed_text(title, text, info.title_context))
    lexical = BM25Index.build(np.asarray(ids, dtype=np.int64), texts)
    lexical_files = lexical.save(building / LEXICAL_DIR)
    (building / DELETIONS_FILE).write_text(
        json.dumps({k: v for k, v in deletions.items() if v}, indent=1), encoding="utf-8"
    )
    files = _file_infos(building, base, segments, lexical_files)
    article_count, chunk_count = store.counts()
    manifest = Manifest(
        version=name,
        created=datetime.now(UTC).isoformat(timespec="milliseconds"),
        model=ModelInfo(name=embedder.name, dim=embedder.dim, max_tokens=embedder.max_tokens),
        chunking=info,
        vector_index=_vector_index(segments),
        lexical_index=lexical.kind,
        second_stage=second,
        counts={"articles": article_count, "chunks": chunk_count},
        segments=[
            SegmentInfo(
                name=s.name,
                articles=s.store.counts()[0],
                chunks=len(s.ids),
                deleted_articles=len(s.deleted),
                vector_index=s.ann().kind if s.has_ann else FLAT_KIND,
            )
            for s in segments
        ],
        next_chunk_id=next_id,
        files=files,
    )
    store.close()
    manifest.write(building)
    publish(index_dir, name, building)
    report.version, report.articles, report.chunks = name, article_count, chunk_count
    report.segments = len(segments)
    return report


def _write_new_segment(
    folder: Path,
    changed: list[tuple[Article, str]],
    next_id: int,
    embedder: Embedder,
    index_dir: Path,
    info: ChunkingInfo,
    chunking: ChunkingSettings,
    options: UpdateOptions,
    report: BuildReport,
) -> int:
    """Chunk and embed ``changed`` into a new segment; returns the next free chunk id."""
    chunker = Chunker(embedder, chunking)
    rows: list[tuple[Article, str, list[Chunk]]] = []
    texts: list[str] = []
    for article, sha in tqdm(
        changed, desc="chunking", unit=" articles", disable=not options.progress
    ):
        chunks = chunker.chunk(article.id, article.text)
        rows.append((article, sha, chunks))
        texts.extend(embed_text(article.title, c.text, info.title_context) for c in chunks)
    ids = np.arange(next_id, next_id + len(texts), dtype=np.int64)
    cache = EmbeddingCache(
        options.cache_path or index_dir / CACHE_FILE, embedder.name, embedder.dim
    )
    embed_started = time.perf_counter()
    try:
        with tqdm(
            total=len(texts), desc="embedding", unit=" chunks", disable=not options.progress
        ) as bar:
            vectors, report.embedded = cache.embed(
                texts, embedder.embed_documents, EMBED_BATCH, bar.update
            )
    finally:
        cache.close()
    second: np.ndarray | None = None
    if options.second_stage is not None:
        second, report.leads_embedded = options.second_stage.encode(
            [article for article, _, _ in rows],
            [len(chunks) for _, _, chunks in rows],
            options.cache_path or index_dir / CACHE_FILE,
            options.progress,
        )
    report.embed_seconds = time.perf_counter() - embed_started
    write_segment(folder, rows, ids, vectors, second)
    return next_id + len(texts)


def _file_infos(
    building: Path, base: _Base | None, segments: list[Segment], lexical_files: list[Path]
) -> dict[str, FileInfo]:
    """Checksums of every file; linked segment files reuse the (verified) base manifest's."""
    known = base.manifest.files if base is not None else {}
    files: dict[str, FileInfo] = {}
    for segment in segments:
        for file in segment_files(segment.folder):
            relative = f"{SEGMENTS}/{segment.name}/{file}"
            path = building / relative
            info = known.get(relative)
            files[relative] = info if info is not None and _same(path, info) else file_info(path)
    for path in [*lexical_files, building / DELETIONS_FILE]:
        files[path.relative_to(building).as_posix()] = file_info(path)
    return files


def _same(path: Path, info: FileInfo) -> bool:
    """A hard link to a verified file of the base: its size must still agree."""
    return path.stat().st_size == info.bytes and path.stat().st_nlink > 1


FLAT_KIND = "faiss:IDMap2,Flat,IP (exact, built when the version is opened)"


def _vector_index(segments: list[Segment]) -> str:
    """The manifest's summary: exact search below the size threshold, ANN per large segment."""
    return (
        f"by segment size: exact ({FLAT_KIND}) under {EXACT_MAX_VECTORS_384} vectors "
        f"(384-d equivalent), else IVF-SQ8 stored in the segment; "
        f"{sum(s.has_ann for s in segments)} of {len(segments)} segments approximate"
    )
