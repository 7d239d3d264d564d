"""Fit the hybrid fusion weights on a training split (never on the split you report).

A grid over the dense weight (BM25's weight stays 1) and the RRF constant; each point is scored
by nDCG@10 on the given qrels through the service's own search. The query vectors are cached by
the retriever, so every grid point after the first costs only ranking and fusion.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from eval.beir import Dataset, EvalError
from eval.run import evaluate_config, select_queries
from service.pipeline import Pipeline
from service.retrieval import FusionSettings

logger = logging.getLogger(__name__)

DENSE_WEIGHTS = (0.5, 0.7, 0.85, 1.0, 1.2, 1.5, 2.0)
RRF_KS = (10, 30, 60, 100)


@dataclass(frozen=True)
class GridPoint:
    dense_weight: float
    rrf_k: int
    ndcg10: float
    recall100: float


def tune_fusion(
    dataset: Dataset,
    pipeline: Pipeline,
    *,
    dense_weights: Sequence[float] = DENSE_WEIGHTS,
    rrf_ks: Sequence[int] = RRF_KS,
    limit: int | None = None,
    progress: bool = True,
) -> list[GridPoint]:
    """Every grid point's nDCG@10 and Recall@100 on ``dataset``'s qrels, best first."""
    queries = select_queries(dataset, limit)
    if not any(dataset.qrels.get(q.id) for q in queries):
        raise EvalError(f"{dataset.qrels_path}: no query has qrels; tuning needs judged queries")
    retriever = pipeline.retriever
    base = retriever.fusion
    points = []
    try:
        for rrf_k in rrf_ks:
            for weight in dense_weights:
                retriever.fusion = FusionSettings(
                    rrf_k=rrf_k, dense_weight=weight, bm25_weight=1.0, candidates=base.candidates
                )
                result = evaluate_config(
                    pipeline, queries, dataset.qrels, "hybrid", progress=progress, cold=False
                )
                if result.ir is None:
                    raise EvalError("no judged query was evaluated")
                means = result.ir.means
                point = GridPoint(weight, rrf_k, means["ndcg@10"], means["recall@100"])
                logger.info("dense_weight=%s rrf_k=%s: nDCG@10 %.4f", weight, rrf_k, point.ndcg10)
                points.append(point)
    finally:
        retriever.fusion = base
    return sorted(points, key=lambda p: (-p.ndcg10, -p.recall100, abs(p.dense_weight - 1.0)))


def settings_line(point: GridPoint) -> str:
    return (
        f"CITED_DENSE_WEIGHT={point.dense_weight} CITED_BM25_WEIGHT=1.0 CITED_RRF_K={point.rrf_k}"
    )
