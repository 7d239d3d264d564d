"""Run an evaluation: index the corpus once, retrieve through ``Pipeline.search``, measure."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from cited.config import MODES, Settings
from eval.beir import Dataset, EvalError, Query
from eval.metrics import (
    DocRanking,
    IrResult,
    collapse,
    containment_rates,
    contains_answer,
    ir_metrics,
    percentile,
)
from indexer.build import build_with_settings
from indexer.embedders.base import Embedder
from indexer.second_stage import SecondStage
from service.pipeline import Pipeline
from service.time.as_of import AsOf, parse_as_of

logger = logging.getLogger(__name__)

#: Passages retrieved per query (Recall@100 needs 100).
TOP_K = 100
#: Names the settings' default mode (``CITED_MODE``) as a config.
DEFAULT_CONFIG = "default"


def resolve_configs(names: Sequence[str] | None, default_mode: str) -> list[str]:
    """The modes to run, in order (``default``: ``default_mode``); none given: the default."""
    chosen = [default_mode if n == DEFAULT_CONFIG else n for n in (names or [DEFAULT_CONFIG])]
    unknown = [n for n in chosen if n not in MODES]
    if unknown:
        known = ", ".join((DEFAULT_CONFIG, *MODES))
        raise EvalError(f"unknown config {unknown[0]!r}: expected one of {known}")
    return list(dict.fromkeys(chosen))


def default_index_dir(dataset: Dataset) -> Path:
    return Path(".cache") / "eval" / dataset.name / "index"


@dataclass
class IndexInfo:
    dir: Path
    version: str | None
    reused: bool
    seconds: float
    articles: int
    chunks: int


@dataclass
class ConfigResult:
    name: str
    run: dict[str, DocRanking]
    ir: IrResult | None
    containment: dict[str, float]
    latencies_ms: dict[str, float]
    answer_hits: dict[str, dict[int, bool]] = field(default_factory=dict)

    @property
    def p50_ms(self) -> float:
        return percentile(list(self.latencies_ms.values()), 50)

    @property
    def p95_ms(self) -> float:
        return percentile(list(self.latencies_ms.values()), 95)


@dataclass
class EvalResult:
    dataset: Dataset
    queries: list[Query]
    configs: list[ConfigResult]
    index: IndexInfo
    model: str
    #: Whether each query was asked as of its own date (False: ``--ignore-dates``, as of now).
    use_dates: bool = True
    #: The time settings in effect (as-of slack, freshness prior, time expressions).
    time: dict[str, object] = field(default_factory=dict)

    @property
    def dated_queries(self) -> int:
        """Queries asked as of their own date."""
        return sum(1 for q in self.queries if q.as_of) if self.use_dates else 0


def query_as_of(query: Query, use_dates: bool) -> AsOf | None:
    """The as-of time ``query`` is asked at: its own date, or None (now) without one or when
    dates are ignored."""
    return parse_as_of(query.as_of) if use_dates and query.as_of else None


def select_queries(dataset: Dataset, limit: int | None = None) -> list[Query]:
    """Queries with qrels (or, when no query has any, those with answers), first ``limit``."""
    chosen = dataset.judged() or [q for q in dataset.queries if q.answers]
    if not chosen:
        raise EvalError(f"no query in {dataset.queries_path} has qrels or answers")
    return chosen[:limit] if limit is not None else chosen


def prepare_index(
    dataset: Dataset,
    index_dir: Path,
    embedder: Embedder,
    settings: Settings,
    progress: bool,
    second_stage: SecondStage | None = None,
) -> IndexInfo:
    """Index the corpus into ``index_dir`` (with the vectors ``second_stage`` stores, if any),
    or reuse the current version when it is up to date."""
    report = build_with_settings(
        [dataset.corpus],
        index_dir,
        embedder,
        settings,
        progress=progress,
        second_stage=second_stage,
    )
    if report.up_to_date:
        logger.info("reusing index %s (version %s)", index_dir, report.version)
    else:
        logger.info("indexed %d articles in %.1f s", report.articles, report.seconds)
    return IndexInfo(
        dir=index_dir,
        version=report.version,
        reused=report.up_to_date,
        seconds=0.0 if report.up_to_date else report.seconds,
        articles=report.articles,
        chunks=report.chunks,
    )


def evaluate_config(
    pipeline: Pipeline,
    queries: Sequence[Query],
    qrels: dict[str, dict[str, int]],
    config: str,
    *,
    progress: bool = True,
    cold: bool = True,
    use_dates: bool = True,
) -> ConfigResult:
    """Top-100 passages per query through the service's search, collapsed and measured.

    ``cold`` empties the query-vector cache first, so every config's latency includes
    embedding each query (as a user's first question would). ``use_dates``: ask each query as
    of its own date (:func:`query_as_of`).
    """
    if cold:
        pipeline.retriever.clear_cache()
    run: dict[str, DocRanking] = {}
    latencies: dict[str, float] = {}
    hits: dict[str, dict[int, bool]] = {}
    for query in tqdm(queries, desc=config, unit=" queries", disable=not progress):
        started = time.perf_counter()
        try:
            retrieval = pipeline.search(
                query.text, TOP_K, mode=config, as_of=query_as_of(query, use_dates)
            )
        except ValueError as exc:  # a mode this index cannot serve
            raise EvalError(f"config {config!r}: {exc}") from exc
        latencies[query.id] = (time.perf_counter() - started) * 1e3
        run[query.id] = collapse((p.article_id, p.score) for p in retrieval.passages)
        if query.answers:
            hits[query.id] = contains_answer([p.text for p in retrieval.passages], query.answers)
    judged = any(qrels.get(q.id) for q in queries)
    return ConfigResult(
        name=config,
        run=run,
        ir=ir_metrics(qrels, run) if judged else None,
        containment=containment_rates(list(hits.values())),
        latencies_ms=latencies,
        answer_hits=hits,
    )


def run_eval(
    dataset: Dataset,
    embedder: Embedder,
    *,
    configs: Sequence[str] | None = None,
    index_dir: Path | None = None,
    settings: Settings | None = None,
    limit: int | None = None,
    progress: bool = True,
    second_stage: SecondStage | None = None,
    use_dates: bool = True,
) -> EvalResult:
    """Evaluate every config over ``dataset`` with ``embedder`` (index built once, reused);
    ``use_dates``: ask each query as of its own date, when it has one."""
    base = settings or Settings()
    names = resolve_configs(configs, base.retrieval.mode)
    queries = select_queries(dataset, limit)
    index_dir = index_dir or default_index_dir(dataset)
    info = prepare_index(dataset, index_dir, embedder, base, progress, second_stage)
    pipeline = Pipeline.open(base.replace(index_dir=index_dir), embedder, second_stage=second_stage)
    try:
        results = [
            evaluate_config(
                pipeline, queries, dataset.qrels, name, progress=progress, use_dates=use_dates
            )
            for name in names
        ]
    finally:
        pipeline.close()
    time_settings = base.time.model_dump()
    return EvalResult(dataset, queries, results, info, embedder.name, use_dates, time_settings)
