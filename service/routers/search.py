from __future__ import annotations

from fastapi import APIRouter, HTTPException

from service.convert import passages_out, time_out
from service.deps import PipelineDep
from service.errors import error_responses
from service.query_limits import check_request
from service.retrieval import UnknownModeError
from service.schemas import SearchRequest, SearchResponse

router = APIRouter(tags=["search"])


@router.post(
    "/search",
    response_model=SearchResponse,
    responses=error_responses(400, 413, 422, 500, 503),
)
def search(request: SearchRequest, pipeline: PipelineDep) -> SearchResponse:
    """The passages nearest to ``query``, best first, as of ``as_of`` (default now): nothing
    published later, fresher articles first unless the query names a period."""
    check_request(pipeline.settings.retrieval, "query", request.query, request.k)
    try:
        retrieval = pipeline.search(
            request.query, request.k, request.mode, request.filters(), request.when()
        )
    except UnknownModeError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return SearchResponse(
        results=passages_out(retrieval.passages),
        mode=retrieval.mode,
        timings_ms={k: round(v, 2) for k, v in retrieval.timings_ms.items()},
        index_version=pipeline.index.version,
        time=time_out(retrieval),
    )
