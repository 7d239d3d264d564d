"""Answer metrics: the official SQuAD normalisation, exact match, token F1, containment.

``normalize_answer`` follows the official SQuAD v1.1/v2.0 evaluation script: lower case, remove
ASCII punctuation, remove the articles a/an/the, collapse whitespace. A missing short answer
counts as the empty string (which matches only an unanswerable question's empty gold answer).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)
#: Quotation marks the official script keeps (it strips ASCII only); containment drops them.
#: The ASCII apostrophe is a word break there too, as its typographic twin is: "Spielberg's"
#: contains "Spielberg" whichever apostrophe the article uses.
_QUOTES = "\u201c\u201d\u2018\u2019\u00ab\u00bb\u201e'"


def normalize_answer(text: str) -> str:
    """Lower case, no ASCII punctuation, no articles, single spaces (the official order)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 of the normalised strings (both empty: 1; one empty: 0)."""
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_em_f1(prediction: str | None, golds: Iterable[str]) -> tuple[float, float]:
    """Max EM and max F1 over the gold answers, as 0-1 (no gold answer: the gold is "")."""
    candidates = list(golds) or [""]
    predicted = prediction or ""
    return (
        max(exact_match(predicted, g) for g in candidates),
        max(f1_score(predicted, g) for g in candidates),
    )


def normalize_loose(text: str) -> str:
    """``normalize_answer`` that also breaks words at typographic quotes and apostrophes (for
    containment)."""
    return normalize_answer(text.translate({ord(q): " " for q in _QUOTES}))


def contains_any(text: str | None, answers: Iterable[str]) -> bool:
    """Does ``text`` contain one of ``answers`` (both normalised loosely, at word boundaries)?"""
    if not text:
        return False
    haystack = f" {normalize_loose(text)} "
    return any(
        f" {needle} " in haystack for needle in (normalize_loose(a) for a in answers) if needle
    )
