from __future__ import annotations

from fastapi import APIRouter

from service.convert import ask_response
from service.deps import PipelineDep
from service.schemas import AskRequest, AskResponse, ErrorResponse

router = APIRouter(tags=["ask"])


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={413: {"model": ErrorResponse, "description": "request body too large"}},
)
def ask(request: AskRequest, pipeline: PipelineDep) -> AskResponse:
    """An answer with ``[n]`` markers whose citations quote the articles verbatim, or an
    abstention (``answer: null``) with the closest passages."""
    return ask_response(pipeline.ask(request.question, request.k), pipeline.index.version)
