"""Core results to response schemas (shared by the API and the CLI's --json)."""

from __future__ import annotations

from dataclasses import asdict

from service.pipeline import AskResult
from service.retrieval import Passage, Retrieval
from service.schemas import AskResponse, CitationOut, PassageOut, ShortAnswerOut, TimeOut


def passages_out(passages: list[Passage]) -> list[PassageOut]:
    return [PassageOut(**{**asdict(p), "authors": list(p.authors)}) for p in passages]


def time_out(retrieval: Retrieval) -> TimeOut | None:
    plan = retrieval.time
    return TimeOut.model_validate(plan.describe()) if plan is not None else None


def ask_response(result: AskResult, index_version: str) -> AskResponse:
    answer = result.answer
    dates = {p.chunk_id: p.published for p in result.retrieval.passages}
    return AskResponse(
        answer=answer.text,
        abstained=answer.abstained,
        reason=answer.reason,
        score=answer.score,
        citations=[
            CitationOut(**asdict(c), published=dates.get(c.chunk_id)) for c in answer.citations
        ],
        short_answer=ShortAnswerOut(**asdict(answer.short_answer)) if answer.short_answer else None,
        passages=passages_out(result.retrieval.passages),
        mode=result.retrieval.mode,
        timings_ms={k: round(v, 2) for k, v in result.timings_ms.items()},
        index_version=index_version,
        time=time_out(result.retrieval),
        unsupported=result.unsupported,
        generator=result.generator,
    )
