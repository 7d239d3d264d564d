"""The answer's candidate sentences: the type the selector, its features and the ranker share.

Kept apart from :mod:`service.answering.sentences` (which selects) and
:mod:`service.answering.features` (which describes a candidate to the ranker), so neither
imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.sentences import sentence_spans
from service.answering.terms import content_terms
from service.retrieval import Passage

__all__ = ["Candidate", "candidates", "is_question"]


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
