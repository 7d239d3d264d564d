"""What the learned sentence ranker sees of each candidate sentence.

One row per candidate, one column per name in :data:`FEATURES`. Every value is computed from the
question, the retrieved passages and the scores the linear selector already has, so ranking by
a trained model costs no extra model call. The trainer (``cited train selector``) and the
selector both build rows here, so what is fitted is exactly what is served.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.answering.candidates import Candidate
from service.answering.short import question_type, short_span
from service.answering.terms import content_terms, lexical_scores

#: Column order of :func:`sentence_features` (a trained model records it and is checked on load).
#: No plain "how many new terms" feature: a longer sentence contains more strings, so the
#: containment labels reward length itself, and such a feature learned to prefer long, name-rich
#: sentences over a short exact one (docs/ANSWERS.md).
FEATURES: tuple[str, ...] = (
    "similarity",  # cos(question, sentence)
    "lexical",  # idf-weighted share of the question's terms in the sentence
    "passage",  # cos(question, the sentence's passage)
    "similarity_gap",  # similarity minus the best similarity among the candidates
    "lexical_gap",  # lexical minus the best lexical among the candidates
    "inverse_rank",  # 1 / rank of the sentence's passage
    "lead",  # the sentence starts in the first 300 characters of its article
    "typed_span",  # the question asks a name, date, number or place and the sentence has one
    "typed_missing",  # it asks one and the sentence has none
    "restates",  # share of the sentence's terms that are the question's own
    "length",  # log(1 + characters / 100)
    "article_share",  # share of the candidates that come from the sentence's article
    "quoted",  # the sentence holds a quotation mark (speech, not narration)
    "focus_lexical",  # lexical, for the terms of the question's own clause (the one asking "?")
    "new_names",  # log(1 + capitalised words, not the first, that the question does not have)
    "new_numbers",  # the sentence holds a number the question does not have
    # (both 0 for why/how questions: they ask for an explanation, not a name or a number)
)

#: Question types the short-answer layer can type-check (``thing``/``None`` are open).
TYPED = frozenset({"person", "date", "number", "place", "entity"})
LEAD_CHARS = 300
_QUOTES = frozenset('"\u201c\u201d')
_CAPITALISED = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w'\u2019.&-]*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_POSSESSIVE = re.compile(r"['\u2019]s?$")
_CLAUSES = re.compile(r"[^.!?]*\?")


def _bare(word: str) -> str:
    """``"Virginia's."`` -> ``"virginia"``: lower case, no trailing dot or possessive."""
    return _POSSESSIVE.sub("", word.rstrip(".").lower())


def focus(question: str) -> str:
    """The clause that asks: the last one ending in "?" (quiz questions often open with a
    sentence of context: "Carnival season closed this week ... Mardi Gras is French for what?")."""
    asking = _CLAUSES.findall(question)
    return asking[-1].strip() if asking else question


@dataclass(frozen=True)
class Scores:
    """The linear selector's per-candidate scores, reused as features."""

    similarity: np.ndarray
    lexical: np.ndarray
    passage: np.ndarray


def sentence_features(question: str, sentences: Sequence[Candidate], scores: Scores) -> np.ndarray:
    """``(len(sentences), len(FEATURES))`` float32 rows, in :data:`FEATURES` order."""
    n = len(sentences)
    rows = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return rows
    asked = content_terms(question)
    focus_lexical = lexical_scores(content_terms(focus(question)), [s.terms for s in sentences])
    asked_words = {w.lower() for w in re.findall(r"\w+", question)}
    asked_numbers = set(_NUMBER.findall(question))
    kind = question_type(question)
    typed = kind in TYPED
    per_article = Counter(s.passage.article_id for s in sentences)
    best_sim = float(np.max(scores.similarity))
    best_lex = float(np.max(scores.lexical))
    for i, s in enumerate(sentences):
        has_span = typed and short_span(question, s.text) is not None
        overlap = len(s.terms & asked)
        names = sum(1 for m in _CAPITALISED.finditer(s.text) if _bare(m.group()) not in asked_words)
        numbers = set(_NUMBER.findall(s.text)) - asked_numbers
        if kind is None:
            names, numbers = 0, set()
        rows[i] = (
            scores.similarity[i],
            scores.lexical[i],
            scores.passage[i],
            scores.similarity[i] - best_sim,
            scores.lexical[i] - best_lex,
            1.0 / max(s.passage.rank, 1),
            float(s.start < LEAD_CHARS),
            float(has_span),
            float(typed and not has_span),
            overlap / len(s.terms) if s.terms else 0.0,
            math.log1p(len(s.text) / 100.0),
            per_article[s.passage.article_id] / n,
            float(any(c in _QUOTES for c in s.text)),
            focus_lexical[i],
            math.log1p(names),
            float(bool(numbers)),
        )
    return rows
