"""``POST /ask/stream``: the answer as server-sent events, then the verified response."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from service.convert import ask_response
from service.deps import PipelineDep
from service.errors import error_body, error_responses
from service.pipeline import AskResult
from service.query_limits import check_request
from service.retrieval import UnknownModeError
from service.schemas import AskRequest

logger = logging.getLogger(__name__)

router = APIRouter(tags=["ask"])

STREAM_DESCRIPTION = """A `text/event-stream` of server-sent events, in this order:

- `token` (zero or more): answer text as it is written. With `CITED_GENERATOR=none` the
  extractive answer comes in one piece; from a generator the pieces are **unverified** drafts.
- `answer` (once): the full verified response, the same JSON object as `POST /ask` returns
  (`answer`, `citations`, `unsupported`, `generator`, ...). Its `answer` is the text to show:
  generated sentences that the passages do not back are dropped from it.
- `done` (once): `data: {}`; the stream ends.
- `error` (instead of `answer`, only on an unexpected failure): the API's error body,
  `{"detail": ..., "status": 500, "error": "Internal Server Error"}`.

Example: `event: token` / `data: China has told the US ...`, then `event: answer` /
`data: {"answer": "...", "citations": [...], ...}`, then `event: done` / `data: {}`."""

# One event of the stream (OpenAPI 3.2's ``itemSchema`` of a sequential media type).
SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["token", "answer", "error", "done"]},
        "data": {"type": "string", "description": "answer text (token) or a JSON object"},
    },
}


def sse(event: str, data: str) -> str:
    """One server-sent event; each line of ``data`` gets its own ``data:`` field."""
    lines = data.split("\n") if data else [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def events(items: Iterator[str | AskResult], index_version: str) -> Iterator[str]:
    try:
        for item in items:
            if isinstance(item, str):
                yield sse("token", item)
            else:
                response = ask_response(item, index_version)
                yield sse("answer", response.model_dump_json())
    except Exception:
        logger.exception("/ask/stream failed after the stream started")
        yield sse("error", json.dumps(error_body(500, "the answer could not be completed")))
    yield sse("done", "{}")


@router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {"itemSchema": SSE_EVENT_SCHEMA}},
            "description": STREAM_DESCRIPTION,
        },
        **error_responses(400, 413, 422, 500, 503),
    },
)
def ask_stream(request: AskRequest, pipeline: PipelineDep) -> StreamingResponse:
    """`POST /ask` as server-sent events: `token` pieces, then the verified `answer`, then
    `done`. Invalid requests are answered before the stream starts (422, 400, 413) as JSON."""
    check_request(pipeline.settings.retrieval, "question", request.question, request.k)
    try:
        items = pipeline.ask_stream(
            request.question, request.k, request.mode, request.filters(), request.when()
        )
    except UnknownModeError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return StreamingResponse(
        events(items, pipeline.index.version),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
