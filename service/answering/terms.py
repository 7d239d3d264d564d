"""Content terms of a text (lower-cased, stemmed, no stop words) for lexical evidence."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from nltk.stem.porter import PorterStemmer

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER = PorterStemmer()

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves also says said say
    according many much one two new may might must shall us
    """.split()
)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_STEMMER.stem(word))


def content_term_list(text: str) -> list[str]:
    """Stemmed content words in text order; numbers count as terms, stop words and one-letter
    words do not."""
    terms = []
    for match in _WORD.finditer(text.lower()):
        word = match.group()
        if word in STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        terms.append(_stem(word))
    return terms


def content_terms(text: str) -> set[str]:
    """The set of :func:`content_term_list`."""
    return set(content_term_list(text))


def lexical_scores(question_terms: set[str], sentences: Sequence[frozenset[str]]) -> np.ndarray:
    """Share of the question's terms in each sentence's terms, rare terms (among these
    sentences) weighing more (idf)."""
    if not question_terms or not sentences:
        return np.zeros(len(sentences), dtype=np.float32)
    n = len(sentences)
    idf = {
        t: math.log(1.0 + (n + 1) / (1 + sum(t in terms for terms in sentences)))
        for t in question_terms
    }
    total = sum(idf.values())
    return np.array(
        [sum(w for t, w in idf.items() if t in terms) / total for terms in sentences],
        dtype=np.float32,
    )
