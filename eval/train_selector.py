"""``cited train selector``: fit the sentence ranker on questions with known answers.

Each training question (a BEIR folder whose questions carry ``answers``, ``--news``) is
retrieved end to end over the whole indexed corpus with the service's own ``Pipeline.search``;
every candidate sentence the selector would consider becomes one row of
:data:`service.answering.features.FEATURES`, labelled 1 when it contains a gold answer (the
containment the answer evaluation uses).

A logistic model is fitted on the rows, each question weighing the same. Questions whose
candidates hold no answer (or only answers) teach nothing about ordering and are left out.
Before the final fit, a cross-validation over groups of questions (the quiz week) reports how
often the top sentence holds the answer with the linear score and with the ranker, on weeks
never fitted on.
"""

from __future__ import annotations

import csv
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from tqdm import tqdm

from eval.beir import Dataset, EvalError, Query
from eval.squad_metrics import contains_any
from service.answering.features import FEATURES, sentence_features
from service.answering.ranker import SentenceRanker
from service.answering.sentences import SentenceSelector
from service.retrieval import Retrieval

logger = logging.getLogger(__name__)

FOLDS = 5
#: Inverse regularisation of the logistic model (sklearn's ``C``).
REGULARISATION = 1.0


@dataclass(frozen=True)
class Example:
    """One training question: its candidate rows, their labels, the linear scores."""

    id: str
    group: str
    rows: np.ndarray
    labels: np.ndarray
    linear: np.ndarray

    @property
    def useful(self) -> bool:
        """Some candidate holds the answer."""
        return bool(self.labels.any())

    @property
    def informative(self) -> bool:
        """Some candidate holds the answer and some does not: it teaches an order."""
        return self.useful and not bool(self.labels.all())


def _example(
    selector: SentenceSelector,
    id: str,
    group: str,
    question: str,
    retrieval: Retrieval,
    answers: Sequence[str],
    skip: frozenset[str] = frozenset(),
) -> Example:
    sentences, parts = selector.parts(question, retrieval)
    keep = [i for i, s in enumerate(sentences) if s.passage.article_id not in skip]
    rows = sentence_features(question, sentences, parts)[keep]
    labels = np.array([contains_any(sentences[i].text, answers) for i in keep], dtype=bool)
    return Example(id, group, rows, labels, selector.linear(parts)[keep])


def quiz_pages(dataset: Dataset) -> frozenset[str]:
    """Articles that print every choice of a quiz (``quiz_pages.tsv`` beside the corpus, if
    any): every sentence of them "contains" the answer, so they teach nothing."""
    path = dataset.root / "quiz_pages.tsv"
    if not path.is_file():
        return frozenset()
    with path.open(encoding="utf-8", newline="") as handle:
        return frozenset(row["corpus-id"] for row in csv.DictReader(handle, delimiter="\t"))


def news_examples(
    dataset: Dataset,
    search: Callable[[str], Retrieval],
    selector: SentenceSelector,
    queries: Sequence[Query],
    *,
    progress: bool = True,
) -> list[Example]:
    """End to end: each question's candidates from the service's own retrieval."""
    skip = quiz_pages(dataset)
    examples = []
    for query in tqdm(queries, desc="news questions", unit=" q", disable=not progress):
        group = query.id.rsplit("_", 1)[0]  # RealTimeQA ids: <week>_<n>
        retrieval = search(query.text)
        examples.append(
            _example(selector, query.id, group, query.text, retrieval, query.answers, skip)
        )
    return examples


def fit(examples: Sequence[Example], regularisation: float = REGULARISATION) -> SentenceRanker:
    """A logistic model over the useful examples, each question weighing the same."""
    useful = [e for e in examples if e.informative]
    if not useful:
        raise EvalError("no training question has both a sentence with the answer and one without")
    rows = np.concatenate([e.rows for e in useful]).astype(np.float64)
    labels = np.concatenate([e.labels for e in useful])
    weights = np.concatenate([np.full(len(e.labels), 1.0 / len(e.labels)) for e in useful])
    mean = rows.mean(axis=0)
    scale = rows.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=regularisation, max_iter=2000)
    model.fit((rows - mean) / scale, labels, sample_weight=weights * len(useful))
    return SentenceRanker(mean, scale, model.coef_[0].copy(), float(model.intercept_[0]))


def top1(examples: Sequence[Example], ranker: SentenceRanker | None) -> float:
    """Share of the useful questions whose top sentence holds the answer."""
    useful = [e for e in examples if e.useful]
    if not useful:
        return 0.0
    hits = 0
    for e in useful:
        scores = e.linear if ranker is None else ranker.scores(e.rows)
        hits += bool(e.labels[int(np.argmax(scores))])
    return hits / len(useful)


def fold_of(group: str, folds: int = FOLDS) -> int:
    return zlib.crc32(group.encode("utf-8")) % folds


def out_of_fold(
    examples: Sequence[Example], folds: int = FOLDS, regularisation: float = REGULARISATION
) -> dict[str, np.ndarray]:
    """Per question id with candidates: the ranker's scores from a model fitted on the other
    folds (questions of one group, the quiz week, share a fold)."""
    scores: dict[str, np.ndarray] = {}
    for fold in range(folds):
        train = [e for e in examples if fold_of(e.group, folds) != fold]
        test = [e for e in examples if fold_of(e.group, folds) == fold and len(e.labels)]
        if not test or not any(e.informative for e in train):
            continue
        ranker = fit(train, regularisation)
        for e in test:
            scores[e.id] = ranker.scores(e.rows)
    return scores


def cross_validate(
    examples: Sequence[Example], folds: int = FOLDS, regularisation: float = REGULARISATION
) -> dict[str, dict[str, bool]]:
    """Out of fold, per useful question id: does the top sentence hold the answer, by the
    linear score (``"linear"``) and by a ranker fitted on the other folds (``"ranker"``)?"""
    scores = out_of_fold(examples, folds, regularisation)
    hits: dict[str, dict[str, bool]] = {"linear": {}, "ranker": {}}
    for e in examples:
        if e.useful and e.id in scores:
            hits["linear"][e.id] = bool(e.labels[int(np.argmax(e.linear))])
            hits["ranker"][e.id] = bool(e.labels[int(np.argmax(scores[e.id]))])
    return hits


def describe(ranker: SentenceRanker) -> list[str]:
    """The standardised coefficients, largest first (a markdown table)."""
    lines = ["| feature | coefficient (standardised) |", "|---|---:|"]
    for i in np.argsort(-np.abs(ranker.coef)):
        lines.append(f"| {FEATURES[i]} | {ranker.coef[i]:+.3f} |")
    return lines
