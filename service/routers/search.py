from __future__ import annotations

from fastapi import APIRouter

from service.convert import passages_out
from service.deps import PipelineDep
from service.schemas import ErrorResponse, SearchRequest, SearchResponse

router = APIRouter(tags=["search"])


@router.post(
    "/search",
    response_model=SearchResponse,
    responses={413: {"model": ErrorResponse, "description": "request body too large"}},
)
def search(request: SearchRequest, pipeline: PipelineDep) -> SearchResponse:
    """The passages nearest to ``query``, best first."""
    retrieval = pipeline.search(request.query, request.k)
    return SearchResponse(
        results=passages_out(retrieval.passages),
        timings_ms={k: round(v, 2) for k, v in retrieval.timings_ms.items()},
        index_version=pipeline.index.version,
    )
