"""Fit the hybrid fusion weights on a training split (never on the split you report).

A grid over the dense weight (BM25's weight stays 1) and the RRF constant, or with ``rerank``
over the second stage's weight (``hybrid+rerank``, dense and BM25 weights as configured) and
the RRF constant; each point is scored by nDCG@10 on the given qrels through the service's own
search. The query vectors are cached, so every grid point after the first costs only ranking
and fusion.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from eval.beir import Dataset, EvalError
from eval.run import evaluate_config, select_queries
from service.pipeline import Pipeline

logger = logging.getLogger(__name__)

DENSE_WEIGHTS = (0.5, 0.7, 0.85, 1.0, 1.2, 1.5, 2.0)
RRF_KS = (10, 30, 60, 100)
RERANK_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class GridPoint:
    dense_weight: float
    rrf_k: int
    ndcg10: float
    recall100: float
    rerank_weight: float = 0.0


def tune_fusion(
    dataset: Dataset,
    pipeline: Pipeline,
    *,
    dense_weights: Sequence[float] = DENSE_WEIGHTS,
    rrf_ks: Sequence[int] = RRF_KS,
    limit: int | None = None,
    progress: bool = True,
    rerank: bool = False,
    rerank_weights: Sequence[float] = RERANK_WEIGHTS,
) -> list[GridPoint]:
    """Every grid point's nDCG@10 and Recall@100 on ``dataset``'s qrels, best first."""
    queries = select_queries(dataset, limit)
    if not any(dataset.qrels.get(q.id) for q in queries):
        raise EvalError(f"{dataset.qrels_path}: no query has qrels; tuning needs judged queries")
    retriever = pipeline.retriever
    base = retriever.fusion
    mode = "hybrid+rerank" if rerank else "hybrid"
    retriever.check_mode(mode)
    grid = (
        [(base.dense_weight, w, k) for k in rrf_ks for w in rerank_weights]
        if rerank
        else [(w, 0.0, k) for k in rrf_ks for w in dense_weights]
    )
    points = []
    try:
        for dense_weight, rerank_weight, rrf_k in grid:
            retriever.fusion = base.model_copy(
                update=dict(
                    rrf_k=rrf_k,
                    dense_weight=dense_weight,
                    bm25_weight=base.bm25_weight if rerank else 1.0,
                    rerank_weight=rerank_weight,
                )
            )
            result = evaluate_config(
                pipeline, queries, dataset.qrels, mode, progress=progress, cold=False
            )
            if result.ir is None:
                raise EvalError("no judged query was evaluated")
            means = result.ir.means
            point = GridPoint(
                dense_weight, rrf_k, means["ndcg@10"], means["recall@100"], rerank_weight
            )
            logger.info("%s: nDCG@10 %.4f", settings_line(point, rerank), point.ndcg10)
            points.append(point)
    finally:
        retriever.fusion = base
    return sorted(
        points,
        key=lambda p: (-p.ndcg10, -p.recall100, abs(p.dense_weight - 1.0), p.rerank_weight),
    )


def settings_line(point: GridPoint, rerank: bool = False) -> str:
    line = f"CITED_DENSE_WEIGHT={point.dense_weight} CITED_RRF_K={point.rrf_k}"
    return f"{line} CITED_RERANK_WEIGHT={point.rerank_weight}" if rerank else line
