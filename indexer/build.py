"""Index article files: read the corpus, then add, update (and with ``prune`` remove) articles
through :mod:`indexer.update`, which publishes a new version when something changed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from cited.config import IndexSettings, Settings, default_of
from indexer.embedders.base import Embedder
from indexer.readers import read_corpus
from indexer.second_stage import SecondStage
from indexer.stores import StoreOptions
from indexer.types import Article, Skipped
from indexer.update import BuildReport, UpdateOptions, update_index

logger = logging.getLogger(__name__)

__all__ = [
    "BuildReport",
    "build_index",
    "build_with_settings",
    "options_from",
    "read_articles",
    "store_options",
]


def read_articles(
    paths: list[Path], report: BuildReport | None = None, published_at: datetime | None = None
) -> list[Article]:
    """Every readable article under ``paths``; unreadable ones are logged and reported.
    ``published_at``: the reference time of relative bylines (:func:`read_corpus`)."""
    articles = []
    items: Iterator[Article | Skipped] = read_corpus(paths, published_at)
    for item in tqdm(items, desc="reading", unit=" articles", leave=False):
        if isinstance(item, Skipped):
            logger.info("skipped %s: %s", item.path, item.reason)
            if report is not None:
                report.skipped.append(item)
        else:
            articles.append(item)
    return articles


def store_options(settings: Settings) -> StoreOptions:
    """The vector store ``settings`` configure (CITED_STORE, CITED_STORE_PARAMS, ...)."""
    return StoreOptions(
        name=settings.index.store,
        params=dict(settings.index.store_params),
        exact_max_vectors=settings.index.store_exact_max_vectors,
    )


def options_from(
    settings: Settings, progress: bool = True, second_stage: SecondStage | None = None
) -> UpdateOptions:
    """The update options ``settings`` describe; ``second_stage`` is the second stage
    ``settings.index.reranker`` names (:func:`indexer.second_stage.load_second_stage`), whose
    :attr:`~indexer.second_stage.SecondStage.stored` vectors the index holds; None: none."""
    stage = second_stage.stored if second_stage is not None else None
    return UpdateOptions(
        chunk_tokens=settings.index.chunk_tokens,
        chunk_overlap=settings.index.chunk_overlap,
        title_context=settings.index.title_context,
        max_segments=settings.index.max_segments,
        grace_s=settings.index.version_grace_s,
        keep_versions=settings.index.keep_versions,
        progress=progress,
        cache_path=settings.index.embed_cache,
        second_stage=stage,
        store=store_options(settings),
    )


def build_with_settings(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    settings: Settings,
    *,
    force: bool = False,
    prune: bool = True,
    progress: bool = True,
    second_stage: SecondStage | None = None,
    published_at: datetime | None = None,
) -> BuildReport:
    """Index the articles under ``paths`` with the chunking and version policy of ``settings``;
    with ``prune`` (the default) the index then holds exactly these articles."""
    options = options_from(settings, progress, second_stage)
    return _index(paths, index_dir, embedder, options, force, prune, published_at)


def build_index(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    *,
    chunk_tokens: int | None = default_of(IndexSettings, "chunk_tokens"),
    chunk_overlap: int = default_of(IndexSettings, "chunk_overlap"),
    title_context: bool = default_of(IndexSettings, "title_context"),
    force: bool = False,
    prune: bool = True,
    progress: bool = True,
) -> BuildReport:
    """Make ``index_dir`` hold the articles under ``paths`` (only what changed is embedded).

    When nothing changed, no version is published (``report.up_to_date``) unless ``force``.
    """
    options = UpdateOptions(
        chunk_tokens=chunk_tokens,
        chunk_overlap=chunk_overlap,
        title_context=title_context,
        progress=progress,
    )
    return _index(paths, index_dir, embedder, options, force, prune)


def _index(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    options: UpdateOptions,
    force: bool,
    prune: bool,
    published_at: datetime | None = None,
) -> BuildReport:
    skipped = BuildReport()
    articles = read_articles(paths, skipped, published_at)
    report = update_index(index_dir, embedder, articles, prune=prune, force=force, options=options)
    report.skipped = skipped.skipped
    return report
