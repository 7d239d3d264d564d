"""Retrieval metrics (trec_eval via ``ir_measures``) and answer containment.

The index holds chunks, the qrels judge documents: a query's passages collapse to documents in
order of each document's first (best-ranked) chunk, with the best chunk's score as its score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import ir_measures

#: Report name -> ir_measures measure (trec_eval semantics; nDCG gains are the qrels scores).
MEASURES: dict[str, str] = {
    "ndcg@10": "nDCG@10",
    "recall@10": "R@10",
    "recall@100": "R@100",
    "mrr@10": "RR@10",
}
CONTAINMENT_KS = (1, 5, 10)
NOTE = (
    "Documents are chunked: a query's top passages collapse to documents, each document scored "
    "by its best chunk and ranked by the first appearance of any of its chunks; Recall@100 "
    "counts the documents among the top 100 passages. answer_in_topK: share of the queries "
    "with answers where a top-K passage contains an answer (case-insensitive, whitespace-"
    "normalised substring)."
)

#: One query's ranked documents: ``(doc_id, score)``, best first.
DocRanking = list[tuple[str, float]]


@dataclass
class IrResult:
    """Means over every judged query (a query that retrieved nothing counts as 0)."""

    means: dict[str, float]
    per_query: dict[str, dict[str, float]]


def collapse(passages: Iterable[tuple[str, float]]) -> DocRanking:
    """``(article_id, score)`` passages, best first, as documents in first-appearance order.

    A document's score is its best chunk's score.
    """
    order: dict[str, float] = {}
    for doc, score in passages:
        order[doc] = max(order[doc], score) if doc in order else score
    return list(order.items())


def ir_metrics(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, DocRanking]) -> IrResult:
    """nDCG@10, Recall@10, Recall@100 and MRR@10 for every query of ``run`` that has qrels.

    trec_eval sorts by score; the run is handed over with rank-derived scores so that the
    ranking evaluated is exactly the given order, ties included.
    """
    judged = [qid for qid in run if qrels.get(qid)]
    measures = {ir_measures.parse_measure(m): name for name, m in MEASURES.items()}
    ranked = {
        qid: {doc: float(len(run[qid]) - i) for i, (doc, _) in enumerate(run[qid])}
        for qid in judged
    }
    trec_qrels = {qid: dict(qrels[qid]) for qid in judged}
    per_query = {qid: dict.fromkeys(MEASURES, 0.0) for qid in judged}
    for metric in ir_measures.iter_calc(list(measures), trec_qrels, ranked):
        per_query[metric.query_id][measures[metric.measure]] = float(metric.value)
    means = {
        name: (sum(v[name] for v in per_query.values()) / len(judged) if judged else 0.0)
        for name in MEASURES
    }
    return IrResult(means, per_query)


def normalise(text: str) -> str:
    """Lower-cased, whitespace runs as one space."""
    return " ".join(text.lower().split())


_QUOTES = "\"'“”‘’«»"


def answer_forms(answers: Iterable[str]) -> list[str]:
    """Normalised answers, without quote marks around them (quiz answers quote titles)."""
    forms = (normalise(a).strip(_QUOTES + " ") for a in answers)
    return list(dict.fromkeys(f for f in forms if f))


def contains_answer(
    passages: Sequence[str], answers: Iterable[str], ks: Sequence[int] = CONTAINMENT_KS
) -> dict[int, bool]:
    """For each k: does one of the first k passage texts contain one of the answers?"""
    forms = answer_forms(answers)
    texts = [normalise(t) for t in passages[: max(ks, default=0)]]
    first = next((i for i, text in enumerate(texts) if any(f in text for f in forms)), None)
    return {k: first is not None and first < k for k in ks}


def containment_rates(hits: Sequence[Mapping[int, bool]]) -> dict[str, float]:
    """``answer_in_topK`` shares over the queries with answers (empty when none has)."""
    if not hits:
        return {}
    return {f"answer_in_top{k}": sum(h[k] for h in hits) / len(hits) for k in CONTAINMENT_KS}


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation, as numpy's default); 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
