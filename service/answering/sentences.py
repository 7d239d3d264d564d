"""The extractive selector: the best sentence(s) of the retrieved passages, cited at their offsets.

Each candidate sentence is scored by

    score = w_sim * cos(question, sentence) + w_lex * idf-weighted share of question terms
            present in the sentence + w_passage * cos(question, passage)

and the best one becomes the answer; a second sentence is added when it scores close to the
first and brings question terms the first lacks. Under ``threshold`` the selector abstains.
Where the question asks for a name, date, number or place, the best sentence's matching span is
the short answer (``service.answering.short``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from indexer.embedders.base import Embedder
from indexer.sentences import sentence_spans
from service.answering.base import Answer, AnswerSelector, Citation, ShortAnswer
from service.answering.short import short_span
from service.answering.terms import content_terms
from service.retrieval import Passage, Retrieval


@dataclass(frozen=True)
class SelectorWeights:
    """Fitted on SQuAD v1.1 dev, calibration half of the articles (docs/ANSWERS.md): 0.45/0.40
    picked the right sentence 0.836 of the time against 0.827 for the earlier 0.6/0.25."""

    similarity: float = 0.45
    lexical: float = 0.40
    passage: float = 0.15
    #: A second sentence must score at least this share of the best one.
    second_ratio: float = 0.85


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    start: int
    end: int
    text: str
    terms: frozenset[str]


def is_question(text: str) -> bool:
    """A sentence that asks ("...?", also before a closing quote) answers nothing."""
    return text.rstrip("\"'\u201d\u2019)] ").endswith("?")


def candidates(passages: list[Passage]) -> list[Candidate]:
    """Sentences of the passages that may answer (not questions), with article offsets, each
    (article, start) once."""
    seen: set[tuple[str, int]] = set()
    found = []
    for passage in passages:
        for start, end in sentence_spans(passage.text):
            key = (passage.article_id, passage.start + start)
            if key in seen:
                continue
            seen.add(key)
            text = passage.text[start:end]
            if is_question(text):
                continue
            found.append(
                Candidate(
                    passage,
                    passage.start + start,
                    passage.start + end,
                    text,
                    frozenset(content_terms(text)),
                )
            )
    return found


def lexical_scores(question_terms: set[str], sentences: list[Candidate]) -> np.ndarray:
    """Share of the question's terms in each sentence, rare terms weighing more (idf)."""
    if not question_terms or not sentences:
        return np.zeros(len(sentences), dtype=np.float32)
    n = len(sentences)
    idf = {
        t: math.log(1.0 + (n + 1) / (1 + sum(t in s.terms for s in sentences)))
        for t in question_terms
    }
    total = sum(idf.values())
    return np.array(
        [sum(w for t, w in idf.items() if t in s.terms) / total for s in sentences],
        dtype=np.float32,
    )


class SentenceSelector(AnswerSelector):
    def __init__(
        self,
        embedder: Embedder,
        *,
        passages: int = 5,
        threshold: float = 0.38,
        weights: SelectorWeights | None = None,
    ):
        self.embedder = embedder
        self.passages = passages
        self.threshold = threshold
        self.weights = weights or SelectorWeights()

    def score(self, question: str, retrieval: Retrieval) -> tuple[list[Candidate], np.ndarray]:
        sentences = candidates(retrieval.passages[: self.passages])
        if not sentences:
            return [], np.zeros(0, dtype=np.float32)
        w = self.weights
        similarity = self.embedder.embed_documents([s.text for s in sentences]) @ np.asarray(
            retrieval.query_vector, dtype=np.float32
        )
        lexical = lexical_scores(content_terms(question), sentences)
        passage = np.array([s.passage.similarity for s in sentences], dtype=np.float32)
        return sentences, w.similarity * similarity + w.lexical * lexical + w.passage * passage

    def answer(self, question: str, retrieval: Retrieval) -> Answer:
        sentences, scores = self.score(question, retrieval)
        if not sentences:
            return Answer(None, True, reason="no passages were retrieved")
        order = np.argsort(-scores, kind="stable")
        best = int(order[0])
        if scores[best] < self.threshold:
            return Answer(
                None,
                True,
                score=float(scores[best]),
                reason=f"the best sentence scored {scores[best]:.3f}, under the abstention "
                f"threshold {self.threshold:.3f}",
            )
        chosen = [best]
        question_terms = content_terms(question)
        if len(order) > 1:
            second = int(order[1])
            adds = (sentences[second].terms - sentences[best].terms) & question_terms
            if scores[second] >= self.weights.second_ratio * scores[best] and adds:
                chosen.append(second)
        # Sentences of one article read in text order.
        chosen.sort(key=lambda i: (sentences[i].passage.rank, sentences[i].start))
        citations = [
            Citation(
                n=n,
                article_id=s.passage.article_id,
                title=s.passage.title,
                start=s.start,
                end=s.end,
                quote=s.text,
                chunk_id=s.passage.chunk_id,
            )
            for n, s in enumerate((sentences[i] for i in chosen), start=1)
        ]
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        short = short_answer(question, sentences[best])
        return Answer(text, False, citations, score=float(scores[best]), short_answer=short)


def short_answer(question: str, sentence: Candidate) -> ShortAnswer | None:
    """The span of the best sentence that the question asks for, at article offsets."""
    span = short_span(question, sentence.text)
    if span is None:
        return None
    start, end = span
    return ShortAnswer(
        sentence.text[start:end],
        sentence.passage.article_id,
        sentence.start + start,
        sentence.start + end,
    )
