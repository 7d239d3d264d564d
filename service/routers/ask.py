from __future__ import annotations

from fastapi import APIRouter, HTTPException

from service.convert import ask_response
from service.deps import PipelineDep
from service.errors import error_responses
from service.query_limits import check_request
from service.retrieval import UnknownModeError
from service.schemas import AskRequest, AskResponse

router = APIRouter(tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses=error_responses(400, 413, 422, 500, 503),
)
def ask(request: AskRequest, pipeline: PipelineDep) -> AskResponse:
    """An answer with ``[n]`` markers whose citations quote the articles verbatim, or an
    abstention (``answer: null``) with the closest passages."""
    check_request(pipeline.settings.retrieval, "question", request.question, request.k)
    try:
        result = pipeline.ask(
            request.question, request.k, request.mode, request.filters(), request.when()
        )
    except UnknownModeError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return ask_response(result, pipeline.index.version)
