"""Sentence boundaries with exact character offsets, for sentence-aware chunking.

Text is first cut into blocks at blank lines (sentences never cross one), then each block is split
by nltk's Punkt tokenizer. Punkt is built from parameters in code (a list of common news
abbreviations), so no trained model or nltk data download is needed.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

__all__ = ["ABBREVIATIONS", "sentence_spans"]

logger = logging.getLogger(__name__)

_ABBREVIATION_GROUPS = (
    # titles and ranks
    "mr mrs ms messrs mme mlle dr prof rev hon gen col lt sgt cpl pvt capt cmdr cdr maj adm brig "
    "rep reps sen sens gov govt pres supt atty insp det amb fr sr jr st esq ph.d",
    # organisations and places
    "inc ltd co corp plc llc bros assn dept univ mt ft ave blvd rd u.s u.k u.n u.s.a e.u d.c n.y "
    "calif fla conn penn",
    # months (AP style) and days
    "jan feb aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun",
    # everything else
    "vs v etc e.g i.e cf al approx est no nos vol fig pp ch a.m p.m",
    # initials: "George W. Bush", "J. K. Rowling"
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
)
#: Abbreviations Punkt must not end a sentence at: lower case, without the final period.
ABBREVIATIONS: frozenset[str] = frozenset(
    word for group in _ABBREVIATION_GROUPS for word in group.split()
)

# Line breaks as ``str.splitlines`` sees them; ``\r`` only when it is not half of ``\r\n``.
_LINE_BREAK = r"(?:\r\n|\r(?!\n)|[\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])"
_INLINE_SPACE = r"[^\S\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
#: A blank line: a line break, then any number of whitespace-only lines ending in a line break.
_BLANK_LINE = re.compile(rf"{_LINE_BREAK}(?:{_INLINE_SPACE}*{_LINE_BREAK})+")
_NON_SPACE = re.compile(r"\S")
#: Punkt only ever ends a sentence at one of these; a block without them is one sentence.
_SENTENCE_END = re.compile(r"[.?!]")


@lru_cache(maxsize=1)
def _punkt() -> PunktSentenceTokenizer:
    params = PunktParameters()
    params.abbrev_types = set(ABBREVIATIONS)
    return PunktSentenceTokenizer(params)


def _strip_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``(start, end)`` narrowed to exclude surrounding whitespace, or None when all whitespace."""
    piece = text[start:end]
    left = len(piece) - len(piece.lstrip())
    if left == len(piece):
        return None
    right = len(piece) - len(piece.rstrip())
    return start + left, end - right


def _block_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of ``text[start:end]``, a block with no blank line, as offsets into text."""
    block = text[start:end]
    if _NON_SPACE.search(block) is None:
        return []
    if _SENTENCE_END.search(block) is None:
        whole = _strip_span(block, 0, len(block))
        return [] if whole is None else [(start + whole[0], start + whole[1])]
    try:
        raw = list(_punkt().span_tokenize(block))
    except (IndexError, ValueError):  # should Punkt fail on odd input, keep the block whole
        logger.warning("punkt failed on a %d-character block; keeping it whole", len(block))
        raw = [(0, len(block))]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for raw_start, raw_end in sorted(raw):
        raw_start = max(raw_start, cursor)
        if raw_end <= raw_start:
            continue
        # Anything Punkt skipped between sentences that is not whitespace becomes its own span.
        gap = _strip_span(block, cursor, raw_start)
        if gap is not None:
            spans.append(gap)
        span = _strip_span(block, raw_start, raw_end)
        if span is not None:
            spans.append(span)
        cursor = raw_end
    tail = _strip_span(block, cursor, len(block))
    if tail is not None:
        spans.append(tail)
    return [(start + s, start + e) for s, e in spans]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` offsets into ``text``.

    Spans are in order, non-overlapping, non-empty and stripped of surrounding whitespace, and
    together they cover every non-whitespace character of ``text``. A blank line always ends a
    sentence; a text without sentence punctuation gives one span per block; whitespace gives [].
    """
    spans: list[tuple[int, int]] = []
    cursor = 0
    for blank in _BLANK_LINE.finditer(text):
        spans.extend(_block_spans(text, cursor, blank.start()))
        cursor = blank.end()
    spans.extend(_block_spans(text, cursor, len(text)))
    return spans
