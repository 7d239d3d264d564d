"""The extractive selector: the best sentence(s) of the retrieved passages, cited at their offsets.

Each candidate sentence is scored by

    score = w_sim * cos(question, sentence) + w_lex * idf-weighted share of question terms
            present in the sentence + w_passage * cos(question, passage)

and the best one becomes the answer; a second sentence is added when it scores close to the
first and brings question terms the first lacks. Under ``threshold`` the selector abstains.
Where the question asks for a name, date, number or place, the best sentence's matching span is
the short answer (``service.answering.short``).

With a trained :class:`~service.answering.ranker.SentenceRanker`, candidates drawn from several
retrieved passages (what ``/ask`` always has) are ordered by its score over
:data:`~service.answering.features.FEATURES` instead: it was fitted end to end on retrieved news
passages, and its features (passage rank, article share, lead) describe a retrieval. One given
passage (SQuAD's paragraph-given protocol) keeps the linear score, whose weights were fitted on
exactly that. The abstention decision always compares the best linear score with ``threshold``
(calibrated on SQuAD v2.0), so the ranker changes which sentence answers, never whether one
does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cited.config import AnswerSettings, default_of
from indexer.embedders.base import Embedder
from service.answering.base import Answer, AnswerSelector, Citation, ShortAnswer
from service.answering.candidates import Candidate, candidates
from service.answering.features import Scores, sentence_features
from service.answering.ranker import SentenceRanker
from service.answering.short import short_span
from service.answering.terms import content_terms, lexical_scores
from service.retrieval import Retrieval


@dataclass(frozen=True)
class SelectorWeights:
    """Fitted on SQuAD v1.1 dev, calibration half of the articles (docs/ANSWERS.md): 0.45/0.40
    picked the right sentence 0.836 of the time against 0.827 for the earlier 0.6/0.25."""

    similarity: float = 0.45
    lexical: float = 0.40
    passage: float = 0.15
    #: A second sentence must score at least this share of the best one.
    second_ratio: float = 0.85


class SentenceSelector(AnswerSelector):
    def __init__(
        self,
        embedder: Embedder,
        *,
        passages: int = default_of(AnswerSettings, "answer_passages"),
        threshold: float = default_of(AnswerSettings, "abstain_threshold"),
        weights: SelectorWeights | None = None,
        ranker: SentenceRanker | None = None,
    ):
        self.embedder = embedder
        self.passages = passages
        self.threshold = threshold
        self.weights = weights or SelectorWeights()
        self.ranker = ranker

    def parts(self, question: str, retrieval: Retrieval) -> tuple[list[Candidate], Scores]:
        """The candidate sentences and their similarity, lexical and passage scores."""
        sentences = candidates(retrieval.passages[: self.passages])
        if not sentences:
            empty = np.zeros(0, dtype=np.float32)
            return [], Scores(empty, empty, empty)
        similarity = self.embedder.embed_documents([s.text for s in sentences]) @ np.asarray(
            retrieval.query_vector, dtype=np.float32
        )
        lexical = lexical_scores(content_terms(question), [s.terms for s in sentences])
        passage = np.array([s.passage.similarity for s in sentences], dtype=np.float32)
        return sentences, Scores(similarity.astype(np.float32), lexical, passage)

    def linear(self, scores: Scores) -> np.ndarray:
        """The sentence score the abstention threshold applies to (weights fitted on SQuAD)."""
        w = self.weights
        return (
            w.similarity * scores.similarity
            + w.lexical * scores.lexical
            + w.passage * scores.passage
        )

    def answer(self, question: str, retrieval: Retrieval) -> Answer:
        sentences, parts = self.parts(question, retrieval)
        if not sentences:
            return Answer(None, True, reason="no passages were retrieved")
        scores = self.linear(parts)
        evidence = float(np.max(scores))
        if evidence < self.threshold:
            return Answer(
                None,
                True,
                score=evidence,
                reason=f"the best sentence scored {evidence:.3f}, under the abstention "
                f"threshold {self.threshold:.3f}",
            )
        ranking = scores
        if self.ranker is not None and len(retrieval.passages[: self.passages]) > 1:
            ranking = self.ranker.scores(sentence_features(question, sentences, parts))
        order = np.argsort(-ranking, kind="stable")
        best = int(order[0])
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
        return Answer(text, False, citations, score=evidence, short_answer=short)


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
