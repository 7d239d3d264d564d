"""Citation integrity: nothing leaves the service unless it slices back to a retrieved passage."""

from __future__ import annotations

import logging
from dataclasses import replace

from indexer.errors import ArticleNotFoundError
from indexer.index import Index
from service.answering.base import Answer, Citation, ShortAnswer
from service.retrieval import Retrieval

logger = logging.getLogger(__name__)


def citation_problem(citation: Citation, index: Index, retrieval: Retrieval) -> str | None:
    """Why ``citation`` may not be returned, or None when it is sound."""
    try:
        text = index.article(citation.article_id).text
    except ArticleNotFoundError:
        return f"article {citation.article_id!r} is not in index version {index.version}"
    if not 0 <= citation.start < citation.end <= len(text):
        return f"offsets {citation.start}:{citation.end} are outside the article (0:{len(text)})"
    if text[citation.start : citation.end] != citation.quote:
        return f"quote differs from the article text at {citation.start}:{citation.end}"
    inside = any(
        p.article_id == citation.article_id and p.start <= citation.start and citation.end <= p.end
        for p in retrieval.passages
    )
    if not inside:
        return "quote is not inside any passage retrieved for this request"
    return None


def short_answer_problem(short: ShortAnswer, index: Index, citations: list[Citation]) -> str | None:
    """Why ``short`` may not be returned: it must be verbatim and inside a sound citation."""
    try:
        text = index.article(short.article_id).text
    except ArticleNotFoundError:
        return f"article {short.article_id!r} is not in index version {index.version}"
    if not 0 <= short.start < short.end <= len(text) or text[short.start : short.end] != short.text:
        return f"short answer differs from the article text at {short.start}:{short.end}"
    inside = any(
        c.article_id == short.article_id and c.start <= short.start and short.end <= c.end
        for c in citations
    )
    return None if inside else "short answer is not inside a cited sentence"


def _checked_short(answer: Answer, index: Index, citations: list[Citation]) -> ShortAnswer | None:
    if answer.short_answer is None:
        return None
    problem = short_answer_problem(answer.short_answer, index, citations)
    if problem:
        logger.error("dropped short answer %r: %s", answer.short_answer.text, problem)
        return None
    return answer.short_answer


def verify_answer(answer: Answer, index: Index, retrieval: Retrieval) -> Answer:
    """Drop unsound citations (and their sentences); with none left, the answer is an abstention.

    A short answer survives only when it is verbatim and inside a citation that survived.
    """
    if answer.abstained:
        return answer
    kept: list[Citation] = []
    for citation in answer.citations:
        problem = citation_problem(citation, index, retrieval)
        if problem:
            logger.error("dropped citation [%d]: %s", citation.n, problem)
        else:
            kept.append(citation)
    if len(kept) == len(answer.citations) and kept:
        return replace(answer, short_answer=_checked_short(answer, index, kept))
    if not kept:
        return Answer(None, True, score=answer.score, reason="no citation could be verified")
    renumbered = [
        Citation(n, c.article_id, c.title, c.start, c.end, c.quote, c.chunk_id)
        for n, c in enumerate(kept, start=1)
    ]
    text = " ".join(f"{c.quote} [{c.n}]" for c in renumbered)
    short = _checked_short(answer, index, renumbered)
    return Answer(text, False, renumbered, score=answer.score, short_answer=short)
