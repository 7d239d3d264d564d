"""Core results to response schemas (shared by the API and the CLI's --json)."""

from __future__ import annotations

from dataclasses import asdict

from service.pipeline import AskResult
from service.retrieval import Passage
from service.schemas import AskResponse, CitationOut, PassageOut, ShortAnswerOut


def passages_out(passages: list[Passage]) -> list[PassageOut]:
    return [PassageOut(**{**asdict(p), "authors": list(p.authors)}) for p in passages]


def ask_response(result: AskResult, index_version: str) -> AskResponse:
    answer = result.answer
    return AskResponse(
        answer=answer.text,
        abstained=answer.abstained,
        reason=answer.reason,
        score=answer.score,
        citations=[CitationOut(**asdict(c)) for c in answer.citations],
        short_answer=ShortAnswerOut(**asdict(answer.short_answer)) if answer.short_answer else None,
        passages=passages_out(result.retrieval.passages),
        mode=result.retrieval.mode,
        timings_ms={k: round(v, 2) for k, v in result.timings_ms.items()},
        index_version=index_version,
        unsupported=result.unsupported,
        generator=result.generator,
    )
