"""Verification of generated text: only sentences backed by the cited passages survive.

A generated sentence survives when

- it carries at least one ``[n]`` marker and every marker names a passage of the prompt;
- the cited passages share words with it: at least :data:`MIN_TERM_SUPPORT` of its content
  terms (stemmed, no stop words) occur in them;
- every number and date in it, and every capitalised word (names, places, months; not the
  sentence's first word nor common words) occurs in the cited passages' text.

Each marker of a surviving sentence becomes a citation of the passage's sentence that shares the
most terms with it, at its verbatim article offsets, so ``service.citations.verify_answer`` still
holds. Other sentences are listed as unsupported; with none surviving, the caller falls back to
the extractive answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.sentences import sentence_spans
from service.answering.base import Answer, Citation
from service.answering.terms import STOP_WORDS, content_terms
from service.retrieval import Passage

MIN_TERM_SUPPORT = 0.5

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+")
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
#: Words about the prompt itself, not claims about the world.
_META = frozenset(content_terms("passage passages article articles text question answer"))
#: Capitalised words that are not names.
_COMMON = STOP_WORDS | {"however", "yes", "although", "meanwhile", "passage", "article"}


@dataclass
class Verified:
    """The surviving sentences as an answer (None when none survived) and the dropped ones."""

    answer: Answer | None
    unsupported: list[str] = field(default_factory=list)


def generated_sentences(text: str) -> list[str]:
    """Sentences of ``text``; markers placed after a full stop go with the sentence before."""
    sentences: list[str] = []
    for start, end in sentence_spans(text):
        sentence = text[start:end].strip()
        leading = _LEADING_MARKERS.match(sentence)
        if leading and sentences:
            sentences[-1] = f"{sentences[-1]} {leading.group().strip()}"
            sentence = sentence[leading.end() :].strip()
        if sentence:
            sentences.append(sentence)
    return sentences


def markers(sentence: str) -> list[int]:
    found: list[int] = []
    for match in MARKER.finditer(sentence):
        for number in re.split(r"[,;]", match.group(1)):
            if int(number) not in found:
                found.append(int(number))
    return found


def claim(sentence: str) -> str:
    """The sentence without its markers, spaces tidied."""
    text = " ".join(MARKER.sub(" ", sentence).split())
    return re.sub(r"\s+([.,;:!?])", r"\1", text)


def numbers(text: str) -> set[str]:
    return {m.group().replace(",", "").rstrip(".") for m in _NUMBER.finditer(text)}


def names(text: str) -> list[str]:
    """Capitalised words after the first word, without possessive endings or common words."""
    found = []
    for i, match in enumerate(_WORD.finditer(text)):
        word = re.sub(r"['’]s$", "", match.group()).strip("-'’")
        if i == 0 or not word or not word[0].isupper() or word.lower() in _COMMON:
            continue
        found.append(word)
    return found


def _occurs(word: str, text: str) -> bool:
    if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE):
        return True
    parts = [p for p in re.split(r"[-'’]", word) if p]
    return len(parts) > 1 and all(_occurs(p, text) for p in parts)


def best_sentence(passage: Passage, terms: set[str]) -> tuple[int, int, int]:
    """(overlap, start, end) of the passage sentence sharing most terms (article offsets)."""
    best = (-1, passage.start, passage.end)
    for start, end in sentence_spans(passage.text):
        overlap = len(terms & content_terms(passage.text[start:end]))
        if overlap > best[0]:
            best = (overlap, passage.start + start, passage.start + end)
    return best


def support(sentence: str, passages: list[Passage]) -> list[tuple[Passage, int, int]] | None:
    """The (passage, start, end) spans backing ``sentence``, or None when it is unsupported."""
    given = markers(sentence)
    if not given or any(not 1 <= n <= len(passages) for n in given):
        return None
    text = claim(sentence)
    terms = content_terms(text) - _META
    spans = []
    for n in given:
        overlap, start, end = best_sentence(passages[n - 1], terms)
        if overlap > 0:
            spans.append((passages[n - 1], start, end))
    if not spans or not terms:
        return None
    evidence = "\n".join(p.text for p, _, _ in spans)
    if len(terms & content_terms(evidence)) < MIN_TERM_SUPPORT * len(terms):
        return None
    if not numbers(text) <= numbers(evidence):
        return None
    if not all(_occurs(name, evidence) for name in names(text)):
        return None
    return spans


def verify_generated(text: str, passages: list[Passage], score: float | None = None) -> Verified:
    """Keep the supported sentences of ``text`` (markers number ``passages`` from 1)."""
    kept: list[str] = []
    unsupported: list[str] = []
    citations: list[Citation] = []
    numbered: dict[tuple[str, int, int], int] = {}
    for sentence in generated_sentences(text):
        spans = support(sentence, passages)
        if spans is None:
            unsupported.append(sentence)
            continue
        ns: list[int] = []
        for passage, start, end in spans:
            key = (passage.article_id, start, end)
            if key not in numbered:
                numbered[key] = len(numbered) + 1
                quote = passage.text[start - passage.start : end - passage.start]
                citations.append(
                    Citation(
                        numbered[key],
                        passage.article_id,
                        passage.title,
                        start,
                        end,
                        quote,
                        passage.chunk_id,
                    )
                )
            if numbered[key] not in ns:
                ns.append(numbered[key])
        kept.append(claim(sentence) + " " + " ".join(f"[{n}]" for n in ns))
    if not kept:
        return Verified(None, unsupported)
    return Verified(Answer(" ".join(kept), False, citations, score=score), unsupported)
