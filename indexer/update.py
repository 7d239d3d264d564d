"""Change the index: add, update and delete articles, each change a new published version.

Only what changed is chunked and embedded: an article whose content hash is already live is
skipped, vectors come from the embedding cache when their text was embedded before, and the
new version shares the unchanged segments of the previous one by hard links. A change of model,
chunking, second stage or vector store rebuilds every segment from the articles the index holds
(the cache still saves every embedding it knows).

The steps: :mod:`indexer.update_plan` decides (pure), :mod:`indexer.segment_writer` writes the
new segment, :mod:`indexer.version_writer` assembles and publishes the version.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cited.config import IndexSettings, default_of
from indexer.chunking import ChunkingSettings
from indexer.embedders.base import Embedder
from indexer.errors import CitedError, IndexIntegrityError
from indexer.layout import (
    DELETIONS_FILE,
    cache_path,
    new_segment_name,
    segment_folder,
    version_folder,
)
from indexer.manifest import ChunkingInfo, Manifest, ModelInfo, read_manifest, verify_files
from indexer.second_stage.leads import StoredLeads
from indexer.second_stage.record import SecondStageRecord
from indexer.segment_writer import EMBED_BATCH, SegmentWriter, chunking_for, embed_text
from indexer.segments import Segment, SegmentedStore, manifest_segments
from indexer.stores import StoreOptions, VectorStore, store_from, store_info, store_of
from indexer.types import Article, Skipped
from indexer.update_plan import Target, compatible, content_sha256, plan_update
from indexer.version_writer import VersionWriter
from indexer.versions import (
    collect_garbage,
    current_version,
    published_versions,
    start_version,
    version_number,
    writer_lock,
)

logger = logging.getLogger(__name__)

__all__ = [
    "EMBED_BATCH",
    "BuildReport",
    "UpdateOptions",
    "chunking_for",
    "content_sha256",
    "embed_text",
    "update_index",
]


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
    #: The vector store new segments are written with (a different one rebuilds the index).
    store: StoreOptions = field(default_factory=StoreOptions)


@dataclass(frozen=True)
class Recipe:
    """How new segments are made: chunking, vector store and second stage, and the
    :class:`Target` a base version must match to be kept."""

    embedder: Embedder
    chunking: ChunkingSettings
    info: ChunkingInfo
    vectors: VectorStore
    second: SecondStageRecord | None
    target: Target

    @classmethod
    def of(cls, embedder: Embedder, options: UpdateOptions) -> Recipe:
        chunking = chunking_for(embedder, options.chunk_tokens, options.chunk_overlap)
        info = ChunkingInfo(
            max_tokens=chunking.max_tokens,
            overlap_sentences=chunking.overlap_sentences,
            title_context=options.title_context,
        )
        vectors = store_from(options.store)
        second = options.second_stage.record() if options.second_stage is not None else None
        target = Target(embedder.name, embedder.dim, info, second, store_info(vectors))
        return cls(embedder, chunking, info, vectors, second, target)

    @property
    def model(self) -> ModelInfo:
        embedder = self.embedder
        return ModelInfo(name=embedder.name, dim=embedder.dim, max_tokens=embedder.max_tokens)


def segment_writer(
    index_dir: Path, embedder: Embedder, recipe: Recipe, options: UpdateOptions
) -> SegmentWriter:
    """The writer of a change's new segment, embedding through the index's cache."""
    return SegmentWriter(
        embedder=embedder,
        chunking=recipe.chunking,
        title_context=options.title_context,
        cache_path=options.cache_path or cache_path(index_dir),
        vectors=recipe.vectors,
        second_stage=options.second_stage,
        progress=options.progress,
    )


@dataclass
class _Base:
    """The current version, as the starting point of a change."""

    name: str
    folder: Path
    manifest: Manifest
    segments: list[Segment]


def _open_base(index_dir: Path, fallback: bool) -> _Base | None:
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
                "`cited repair` replaces the damaged files (from the stored articles and the "
                "embedding cache); then make the change again"
            ) from exc
        for older in reversed(published_versions(index_dir)):
            if version_number(older) >= version_number(name):
                continue
            try:
                manifest = read_manifest(version_folder(index_dir, older))
                verify_files(version_folder(index_dir, older), manifest)
            except CitedError:
                continue
            logger.warning("version %s is damaged (%s): rebuilding from %s", name, exc, older)
            name, folder = older, version_folder(index_dir, older)
            break
        else:
            raise
    deletions = json.loads((folder / DELETIONS_FILE).read_text(encoding="utf-8"))
    segments = list(manifest_segments(folder, manifest, store_of(manifest), deletions))
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
    with writer_lock(index_dir, options.lock_wait_s):
        report = _Change(index_dir, embedder, options, prune=prune, force=force).run(
            articles, delete
        )
        if report.version and not report.up_to_date:
            collect_garbage(index_dir, options.grace_s, options.keep_versions)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Change:
    """One change of the index, with the writer lock held."""

    index_dir: Path
    embedder: Embedder
    options: UpdateOptions
    prune: bool
    force: bool

    def run(self, articles: Sequence[Article], delete: Sequence[str]) -> BuildReport:
        options, embedder = self.options, self.embedder
        recipe = Recipe.of(embedder, options)
        info, vectors, second = recipe.info, recipe.vectors, recipe.second
        base = self._base()
        fits = base is not None and compatible(base.manifest, recipe.target)
        if base is not None and not fits:
            logger.info(
                "model, chunking, second stage or vector store changed since %s: "
                "rebuilding every segment",
                base.name,
            )
        rebuild = base is not None and (self.force or not fits)
        kept = base.segments if base is not None and fits and not rebuild else []
        carried = {}
        if rebuild and base is not None and base.segments:
            carried = {a.id: (a, sha) for a, sha in SegmentedStore(base.segments).articles()}
        live = SegmentedStore(kept).content_hashes()
        plan = plan_update(
            articles, delete, live=live, carried=carried, prune=self.prune, rebuild=rebuild
        )
        report = BuildReport(
            added=plan.added,
            updated=plan.updated,
            unchanged=plan.unchanged,
            deleted=plan.deleted,
            not_found=plan.not_found,
        )
        if base is not None and plan.nothing_to_do(has_base=True):
            report.version, report.up_to_date = base.name, True
            report.articles = len(live)
            report.chunks = sum(len(s.live_ids) for s in kept)
            return report
        report.rebuilt = rebuild
        name, building = start_version(self.index_dir)
        number = version_number(name)
        next_id = base.manifest.next_chunk_id if base is not None else 1
        version = VersionWriter(building, number, embedder.dim, vectors, second)
        version.keep(kept, plan.replaced)
        if plan.write:
            folder = segment_folder(building, new_segment_name(number))
            writer = segment_writer(self.index_dir, embedder, recipe, options)
            kind, next_id = writer.write(folder, plan.write, next_id)
            report.embedded, report.leads_embedded = writer.embedded, writer.leads_embedded
            report.embed_seconds = writer.embed_seconds
            version.add(folder, kind)
        version.merge_if_needed(options.max_segments)
        model = recipe.model
        known = base.manifest.files if base is not None else {}
        report.articles, report.chunks = version.publish(
            self.index_dir,
            name,
            model=model,
            chunking=info,
            next_chunk_id=next_id,
            known_files=known,
        )
        report.version, report.segments = name, len(version.segments)
        return report

    def _base(self) -> _Base | None:
        # A forced rebuild, or a prune (the result is exactly the given articles), loses
        # nothing by starting from an older intact version or from nothing.
        lenient = self.force or self.prune
        try:
            return _open_base(self.index_dir, fallback=lenient)
        except CitedError as exc:
            if not lenient:
                raise
            logger.warning("no intact version: rebuilding from the given articles only (%s)", exc)
            return None
