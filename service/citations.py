"""Citation integrity: nothing leaves the service unless it slices back to a retrieved passage."""

from __future__ import annotations

import logging

from indexer.errors import ArticleNotFoundError
from indexer.index import Index
from service.answering.base import Answer, Citation
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


def verify_answer(answer: Answer, index: Index, retrieval: Retrieval) -> Answer:
    """Drop unsound citations (and their sentences); with none left, the answer is an abstention."""
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
        return answer
    if not kept:
        return Answer(None, True, score=answer.score, reason="no citation could be verified")
    renumbered = [
        Citation(n, c.article_id, c.title, c.start, c.end, c.quote, c.chunk_id)
        for n, c in enumerate(kept, start=1)
    ]
    text = " ".join(f"{c.quote} [{c.n}]" for c in renumbered)
    return Answer(text, False, renumbered, score=answer.score)
