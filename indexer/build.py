"""Index article files: read the corpus, then add, update (and with ``prune`` remove) articles
through :mod:`indexer.update`, which publishes a new version when something changed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from indexer.embedders.base import Embedder, TextEncoder
from indexer.leads import SecondStage
from indexer.readers import read_corpus
from indexer.settings import Settings
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


def read_articles(paths: list[Path], report: BuildReport | None = None) -> list[Article]:
    """Every readable article under ``paths``; unreadable ones are logged and reported."""
    articles = []
    items: Iterator[Article | Skipped] = read_corpus(paths)
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
        name=settings.store,
        params=dict(settings.store_params),
        exact_max_vectors=settings.store_exact_max_vectors,
    )


def options_from(
    settings: Settings, progress: bool = True, second_stage: TextEncoder | None = None
) -> UpdateOptions:
    """The update options ``settings`` describe; ``second_stage`` is the loaded second-stage
    encoder (see :func:`indexer.embedders.load_second_stage`), None for an index without one."""
    stage = SecondStage(second_stage, settings.rerank_lead_chars) if second_stage else None
    return UpdateOptions(
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        title_context=settings.title_context,
        max_segments=settings.max_segments,
        grace_s=settings.version_grace_s,
        keep_versions=settings.keep_versions,
        progress=progress,
        cache_path=settings.embed_cache,
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
    second_stage: TextEncoder | None = None,
) -> BuildReport:
    """Index the articles under ``paths`` with the chunking and version policy of ``settings``;
    with ``prune`` (the default) the index then holds exactly these articles."""
    options = options_from(settings, progress, second_stage)
    return _index(paths, index_dir, embedder, options, force, prune)


def build_index(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    *,
    chunk_tokens: int | None = None,
    chunk_overlap: int = 1,
    title_context: bool = True,
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
) -> BuildReport:
    skipped = BuildReport()
    articles = read_articles(paths, skipped)
    report = update_index(index_dir, embedder, articles, prune=prune, force=force, options=options)
    report.skipped = skipped.skipped
    return report
