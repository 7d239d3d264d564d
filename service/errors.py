"""One JSON shape for every error response: `{"detail": ..., "status": 404, "error": "Not Found"}`.

``detail`` is FastAPI's key (a string, or for 422 the list of validation errors), kept so that
existing clients work; ``status`` repeats the HTTP status and ``error`` is its reason phrase.
:func:`install_error_handlers` makes FastAPI's own errors (404, 405, 422, ...), the routes'
``HTTPException`` errors and unexpected exceptions (500) answer in this shape; the middlewares
of :mod:`service.limits` (413, 503) build the same body with :func:`error_body`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from service.schemas import ErrorResponse, ValidationErrorResponse

logger = logging.getLogger(__name__)

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
INTERNAL_ERROR_DETAIL = "internal server error: the request could not be completed"

# What each error status means in this API, for the routes' OpenAPI ``responses``.
DESCRIPTIONS: dict[int, str] = {
    400: "bad request: the body could not be parsed, or the mode is not available on this index",
    401: "missing or wrong bearer token",
    403: "this route is disabled",
    404: "not found",
    405: "method not allowed on this path",
    413: "request body larger than the limit",
    422: "invalid request: `detail` lists each invalid field with the reason",
    500: "unexpected server error (logged); `detail` is generic",
    503: "the request did not start its response within the request timeout",
}


def reason_phrase(status: int) -> str:
    """``"Not Found"`` for 404; ``"Error"`` for a status that the standard does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(status: int, detail: Any) -> dict[str, Any]:
    """The body of every error response; ``detail`` must be JSON-serialisable."""
    return {"detail": detail, "status": status, "error": reason_phrase(status)}


def error_response(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, detail), status_code=status, headers=headers)


def error_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for these error statuses, with the shared error models;
    ``descriptions`` overrides :data:`DESCRIPTIONS` for this route."""
    described = {**DESCRIPTIONS, **(descriptions or {})}
    unknown = sorted(set(statuses) - set(described))
    if unknown:
        raise ValueError(f"no description for status {unknown}; described: {sorted(described)}")
    return {
        status: {
            "model": ValidationErrorResponse if status == 422 else ErrorResponse,
            "description": described[status],
        }
        for status in statuses
    }


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """``HTTPException`` from a route, and Starlette's own 404 and 405, as the error body."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405 and (allowed := allowed_methods(request)):
        headers["Allow"] = allowed
    if exc.status_code < 200 or exc.status_code in (204, 205, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=headers)
    return error_response(exc.status_code, jsonable_encoder(exc.detail), headers)


def allowed_methods(request: Request) -> str:
    """Every method that some route of this path takes, e.g. ``"DELETE, GET"``.

    Starlette's 405 lists only the methods of the first route whose path matches, which is
    wrong where routes share a path (``GET`` and ``DELETE /articles/{id}``). Each method is
    probed with the routes' own ``matches``; mounts (static files) answer their own 405s.
    """
    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    allowed = [
        method
        for method in HTTP_METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


async def validation_exception_handler(request: Request, exc: Exception) -> Response:
    """422 with FastAPI's list of validation errors as ``detail``."""
    assert isinstance(exc, RequestValidationError)
    return error_response(422, _jsonable_errors(exc.errors()))


async def unexpected_exception_handler(request: Request, exc: Exception) -> Response:
    """500 with a generic body; the traceback goes to the log, never to the client.

    Starlette re-raises the exception after this answer, so the server may log it again.
    """
    logger.error(
        "%s %s failed with an unexpected %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return error_response(500, INTERNAL_ERROR_DETAIL)


def _jsonable_errors(errors: Any) -> Any:
    """The validation errors as JSON: ``ctx`` may hold exception objects, ``input`` bytes."""

    def encode(value: Any) -> Any:
        if isinstance(value, BaseException):
            return str(value)
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        if isinstance(value, dict):
            return {str(k): encode(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [encode(v) for v in value]
        return value

    return jsonable_encoder(encode(errors))


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with :func:`error_body`."""
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    app.add_exception_handler(Exception, unexpected_exception_handler)
