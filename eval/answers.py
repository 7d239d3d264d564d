"""Answer evaluation with the service's own selector.

SQuAD (paragraph given): each question runs ``SentenceSelector.answer`` on a ``Retrieval`` whose
one passage is the paragraph, embedded with the real model (sentence and question vectors are
computed per batch of paragraphs and served from a cache, so the selector code is unchanged).
BEIR (news_2022): each question runs ``Pipeline.ask`` over the whole indexed corpus.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.beir import Dataset
from eval.run import query_as_of
from eval.squad import SquadParagraph
from eval.squad_metrics import best_em_f1, contains_any
from indexer.embedders.base import Embedder
from indexer.sentences import sentence_spans
from service.answering.ranker import SentenceRanker
from service.answering.sentences import SelectorWeights, SentenceSelector
from service.pipeline import Pipeline
from service.retrieval import Passage, Retrieval

logger = logging.getLogger(__name__)

#: Paragraphs whose texts are embedded in one batch.
BATCH_PARAGRAPHS = 32


class CachingEmbedder(Embedder):
    """Serves vectors computed ahead by ``prefetch``; embeds (and keeps) anything else."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self._documents: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}

    def prefetch(self, documents: Sequence[str], queries: Sequence[str]) -> None:
        self._documents.clear()
        self._queries.clear()
        self.embed_documents(list(dict.fromkeys(documents)))
        self.embed_queries(list(dict.fromkeys(queries)))

    def _cached(self, texts: list[str], cache: dict[str, np.ndarray], queries: bool) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            embed = self.inner.embed_queries if queries else self.inner.embed_documents
            for text, vector in zip(missing, embed(missing), strict=True):
                cache[text] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([cache[t] for t in texts]).astype(np.float32, copy=False)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._cached(texts, self._documents, queries=False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._cached(texts, self._queries, queries=True)

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        return self.inner.token_offsets(texts)


@dataclass
class Prediction:
    """One question's outcome; ``hit``: an answered question whose cited text holds a gold answer
    (SQuAD: a cited sentence; news: the answer or short answer)."""

    id: str
    question: str
    answered: bool
    score: float | None
    hit: bool
    short_answer: str | None
    golds: tuple[str, ...]
    impossible: bool = False
    exact_match: float = 0.0
    f1: float = 0.0
    relevant_citation: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _paragraph_retrieval(
    question: str, paragraph: SquadParagraph, embedder: CachingEmbedder
) -> Retrieval:
    vector = embedder.embed_query(question)
    similarity = float(embedder.embed_documents([paragraph.context])[0] @ vector)
    passage = Passage(
        rank=1,
        chunk_id=0,
        article_id=paragraph.id,
        title=paragraph.title,
        start=0,
        end=len(paragraph.context),
        text=paragraph.context,
        score=similarity,
        similarity=similarity,
    )
    return Retrieval(question, vector, [passage])


def run_squad(
    paragraphs: Sequence[SquadParagraph],
    embedder: Embedder,
    *,
    threshold: float,
    weights: SelectorWeights | None = None,
    ranker: SentenceRanker | None = None,
    progress: bool = True,
) -> list[Prediction]:
    """Every question of ``paragraphs`` through ``SentenceSelector.answer`` (paragraph given)."""
    cache = CachingEmbedder(embedder)
    selector = SentenceSelector(
        cache, passages=1, threshold=threshold, weights=weights, ranker=ranker
    )
    total = sum(len(p.questions) for p in paragraphs)
    predictions: list[Prediction] = []
    bar = tqdm(total=total, desc="questions", unit=" q", disable=not progress)
    for first in range(0, len(paragraphs), BATCH_PARAGRAPHS):
        batch = paragraphs[first : first + BATCH_PARAGRAPHS]
        documents = [p.context for p in batch] + [
            p.context[s:e] for p in batch for s, e in sentence_spans(p.context)
        ]
        cache.prefetch(documents, [q.question for p in batch for q in p.questions])
        for paragraph in batch:
            for q in paragraph.questions:
                answer = selector.answer(
                    q.question, _paragraph_retrieval(q.question, paragraph, cache)
                )
                short = (
                    answer.short_answer.text
                    if answer.short_answer and not answer.abstained
                    else None
                )
                quoted = " ".join(c.quote for c in answer.citations)
                em, f1 = best_em_f1(short, q.answers)
                predictions.append(
                    Prediction(
                        id=q.id,
                        question=q.question,
                        answered=not answer.abstained,
                        score=answer.score,
                        hit=not answer.abstained and contains_any(quoted, q.answers),
                        short_answer=short,
                        golds=q.answers,
                        impossible=q.impossible,
                        exact_match=em,
                        f1=f1,
                        extra={"citations": len(answer.citations)},
                    )
                )
                bar.update()
    bar.close()
    return predictions


def run_news(
    dataset: Dataset,
    pipeline: Pipeline,
    queries: Sequence[Any],
    *,
    progress: bool = True,
    use_dates: bool = True,
) -> list[Prediction]:
    """Every question through ``Pipeline.ask`` over the whole index, as of its own date
    (``use_dates``, when it has one). The short answer is scored against the right choice
    with SQuAD's EM/F1 (an abstention scores 0)."""
    predictions = []
    for query in tqdm(queries, desc="questions", unit=" q", disable=not progress):
        started = time.perf_counter()
        result = pipeline.ask(query.text, as_of=query_as_of(query, use_dates))
        answer = result.answer
        short = answer.short_answer.text if answer.short_answer else None
        em, f1 = best_em_f1(short if not answer.abstained else None, query.answers)
        relevant = dataset.qrels.get(query.id, {})
        first = answer.citations[0].article_id if answer.citations else None
        predictions.append(
            Prediction(
                id=query.id,
                question=query.text,
                answered=not answer.abstained,
                score=answer.score,
                hit=not answer.abstained
                and (
                    contains_any(answer.text, query.answers) or contains_any(short, query.answers)
                ),
                short_answer=short,
                golds=tuple(query.answers),
                exact_match=em,
                f1=f1,
                relevant_citation=first is not None and relevant.get(first, 0) > 0,
                extra={
                    "cited_article": first,
                    "citations": len(answer.citations),
                    "answer": answer.text,
                    "generator": result.generator,
                    "unsupported": len(result.unsupported),
                    "ms": round((time.perf_counter() - started) * 1e3, 1),
                },
            )
        )
    return predictions
