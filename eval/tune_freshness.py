"""Fit the freshness prior (shape, scale, offset, weight, time expressions) on a news set with
question dates: ``cited eval tune-freshness``. Never fit on a set you report on.

Each query is retrieved once as of its own date, without the prior (the candidates, the as-of
cut and the question's period are the service's own, from :meth:`Retriever.ranked` and
:class:`~service.time.policy.TimePolicy`); every grid point then re-orders those candidates
with :meth:`Retriever.fresh` and is measured by nDCG@10 over the collapsed documents.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.beir import Dataset, EvalError
from eval.metrics import DocRanking, collapse, ir_metrics
from eval.run import TOP_K, query_as_of, select_queries
from indexer.index import Hit
from indexer.store import StoredChunk
from service.pipeline import Pipeline
from service.retrieval import distinct
from service.time.freshness import Freshness
from service.time.policy import TimePlan

logger = logging.getLogger(__name__)

SHAPES = ("gauss", "exp", "linear")
SCALES_DAYS = (1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 14.0, 21.0, 30.0, 45.0, 60.0, 90.0)
OFFSETS_DAYS = (0.0, 1.0, 3.0)
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class Candidates:
    """One query's candidates before the prior, with its plans (period read and not read)."""

    query_id: str
    with_window: TimePlan
    without_window: TimePlan
    hits: list[Hit]
    chunks: dict[int, StoredChunk]


@dataclass(frozen=True)
class FreshnessPoint:
    shape: str
    scale_days: float
    offset_days: float
    weight: float
    time_expressions: bool
    ndcg10: float
    mrr10: float
    recall10: float


def collect(
    pipeline: Pipeline, dataset: Dataset, limit: int | None = None, progress: bool = True
) -> list[Candidates]:
    """Every judged query's candidates as of its own date, through the service's retriever."""
    retriever = pipeline.retriever
    queries = [q for q in select_queries(dataset, limit) if dataset.qrels.get(q.id)]
    dated = [q for q in queries if q.as_of]
    if not dated:
        raise EvalError(
            f"no judged query in {dataset.queries_path} has a question_date or as_of: the "
            "freshness prior can only be fitted on questions asked at a known time"
        )
    policy = retriever.time
    found: list[Candidates] = []
    for query in tqdm(dated, desc="candidates", unit=" q", disable=not progress):
        as_of = query_as_of(query, True)
        plan = policy.plan(query.text, as_of)
        plain = dataclasses.replace(plan, window=None) if plan.window else plan
        hits, _, _ = retriever.ranked(query.text, TOP_K, retriever.mode, None, plan)
        chunks = pipeline.index.chunks([h.chunk_id for h in hits])
        found.append(Candidates(query.id, plan, plain, hits, chunks))
    logger.info("collected candidates of %d dated queries (of %d judged)", len(found), len(queries))
    return found


def measure(
    pipeline: Pipeline,
    candidates: Sequence[Candidates],
    qrels: dict[str, dict[str, int]],
    freshness: Freshness,
    time_expressions: bool,
) -> dict[str, float]:
    """nDCG@10, MRR@10 and Recall@10 with one prior over the collected candidates."""
    retriever = pipeline.retriever
    run: dict[str, DocRanking] = {}
    for item in candidates:
        plan = item.with_window if time_expressions else item.without_window
        plan = dataclasses.replace(plan, freshness=freshness)
        hits = retriever.fresh(plan, item.hits)
        kept = distinct(hits, item.chunks, TOP_K)
        run[item.query_id] = collapse((chunk.article_id, hit.score) for hit, chunk in kept)
    return ir_metrics(qrels, run).means


def grid(
    shapes: Sequence[str] = SHAPES,
    scales: Sequence[float] = SCALES_DAYS,
    offsets: Sequence[float] = OFFSETS_DAYS,
    weights: Sequence[float] = WEIGHTS,
) -> list[tuple[str, float, float, float, bool]]:
    """(shape, scale, offset, weight, time expressions); weight 0 (no prior) once per setting
    of time expressions."""
    return [
        (shape, scale, offset, weight, expressions)
        for shape, scale, offset, weight, expressions in itertools.product(
            shapes, scales, offsets, weights, (True, False)
        )
        if weight > 0 or (shape, scale, offset) == (shapes[0], scales[0], offsets[0])
    ]


def tune(
    pipeline: Pipeline,
    candidates: Sequence[Candidates],
    qrels: dict[str, dict[str, int]],
    progress: bool = True,
    points_to_try: Sequence[tuple[str, float, float, float, bool]] | None = None,
) -> list[FreshnessPoint]:
    """Every grid point, best nDCG@10 first (ties: the smaller weight, then the larger scale)."""
    tried = list(points_to_try) if points_to_try is not None else grid()
    points: list[FreshnessPoint] = []
    for shape, scale, offset, weight, expressions in tqdm(
        tried, desc="grid", unit=" points", disable=not progress
    ):
        prior = Freshness(shape, scale, offset, 0.5, weight)
        means = measure(pipeline, candidates, qrels, prior, expressions)
        points.append(
            FreshnessPoint(
                shape,
                scale,
                offset,
                weight,
                expressions,
                means["ndcg@10"],
                means["mrr@10"],
                means["recall@10"],
            )
        )
    points.sort(key=lambda p: (-round(p.ndcg10, 6), p.weight, -p.scale_days, p.offset_days))
    return points


def settings_line(point: FreshnessPoint) -> str:
    return (
        f"CITED_FRESHNESS_SHAPE={point.shape} CITED_FRESHNESS_SCALE_DAYS={point.scale_days:g} "
        f"CITED_FRESHNESS_OFFSET_DAYS={point.offset_days:g} "
        f"CITED_FRESHNESS_WEIGHT={point.weight:g} "
        f"CITED_TIME_EXPRESSIONS={str(point.time_expressions).lower()}"
    )


def table(points: Sequence[FreshnessPoint], rows: int = 20) -> list[str]:
    lines = [
        "| shape | scale days | offset days | weight | time expressions | nDCG@10 | MRR@10 "
        "| R@10 |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    off = next((p for p in points if p.weight == 0.0), None)
    for p in [*points[:rows], *([off] if off is not None and off not in points[:rows] else [])]:
        lines.append(
            f"| {p.shape} | {p.scale_days:g} | {p.offset_days:g} | {p.weight:g} | "
            f"{'on' if p.time_expressions else 'off'} | {p.ndcg10:.4f} | {p.mrr10:.4f} | "
            f"{p.recall10:.4f} |"
        )
    return lines


def write(folder: Path, points: Sequence[FreshnessPoint], record: dict[str, Any]) -> Path:
    """tune.json (the record and every point), tune.md (the table) and tune.png."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {**record, "best": dataclasses.asdict(points[0]), "settings": settings_line(points[0])}
    data["grid"] = [dataclasses.asdict(p) for p in points]
    (folder / "tune.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (folder / "tune.md").write_text("\n".join(table(points)) + "\n", encoding="utf-8")
    _plot(folder / "tune.png", points)
    return folder


def _plot(path: Path, points: Sequence[FreshnessPoint]) -> None:
    """nDCG@10 against the scale, per shape, at the best weight, offset and expressions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = points[0]
    figure, axes = plt.subplots(figsize=(6, 4))
    for shape in SHAPES:
        line = sorted(
            (p.scale_days, p.ndcg10)
            for p in points
            if p.shape == shape
            and p.weight == best.weight
            and p.offset_days == best.offset_days
            and p.time_expressions == best.time_expressions
        )
        if line:
            axes.plot(*zip(*line, strict=True), marker="o", label=shape)
    off = next((p for p in points if p.weight == 0.0), None)
    if off is not None:
        axes.axhline(off.ndcg10, color="grey", linestyle="--", label="no prior")
    axes.set_xscale("log")
    axes.set_xlabel("scale (days)")
    axes.set_ylabel("nDCG@10")
    axes.set_title(f"freshness prior, weight {best.weight:g}, offset {best.offset_days:g} d")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
