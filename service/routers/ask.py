from __future__ import annotations

from fastapi import APIRouter, HTTPException

from service.convert import ask_response
from service.deps import PipelineDep
from service.retrieval import UnknownModeError
from service.schemas import AskRequest, AskResponse, ErrorResponse

router = APIRouter(tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={
        400: {"model": ErrorResponse, "description": "mode not available on this index"},
        413: {"model": ErrorResponse, "description": "request body too large"},
    },
)
def ask(request: AskRequest, pipeline: PipelineDep) -> AskResponse:
    """An answer with ``[n]`` markers whose citations quote the articles verbatim, or an
    abstention (``answer: null``) with the closest passages."""
    try:
        result = pipeline.ask(request.question, request.k, request.mode, request.filters())
    except UnknownModeError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return ask_response(result, pipeline.index.version)
