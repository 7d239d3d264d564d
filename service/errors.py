"""One JSON shape for every error response: `{"detail": ..., "status": 404, "error": "Not Found"}`.

``detail`` is FastAPI's key (a string, or for 422 the list of validation errors), kept so that
existing clients work; ``status`` repeats the HTTP status and ``error`` is its reason phrase.
:func:`install_error_handlers` makes FastAPI's own errors (404, 405, 422, ...), the routes'
``HTTPException`` errors and unexpected exceptions (500) answer in this shape; the middlewares
of :mod:`service.limits` (413, 503) build the same body with :func:`error_body`.

An error body always encodes as strict JSON (:func:`json_safe`): a 422 echoes what the client
sent, which may hold NaN, infinities, lone surrogates, huge integers or deep nesting.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from indexer.errors import IndexIntegrityError
from service.schemas import ErrorResponse, ValidationErrorResponse
from service.security_headers import headers_for

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
    503: "the request did not start its response within the request timeout, or met a damaged "
    "index file (Retry-After)",
}


def reason_phrase(status: int) -> str:
    """``"Not Found"`` for 404; ``"Error"`` for a status that the standard does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


#: Nesting kept when a 422 echoes the client's input; deeper values are shown as ``"..."``.
ECHO_DEPTH = 8


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as strict JSON that always encodes: non-finite floats as the strings ``"NaN"``,
    ``"Infinity"``, ``"-Infinity"``; lone surrogates in strings (and keys) as ``\\udXXX``
    escapes; integers too long to print as a description; containers deeper than
    :data:`ECHO_DEPTH` as ``"..."``; exceptions, bytes and other objects as text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:  # over sys.get_int_max_str_digits()
            return f"an integer of about {int(value.bit_length() * math.log10(2))} digits"
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict | list | tuple) and depth >= ECHO_DEPTH:
        return "..."
    if isinstance(value, dict):
        return {json_safe(str(k)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, BaseException):
        return json_safe(str(value))
    try:  # dates, enums, models ...: JSON primitives and containers, made safe in turn
        return json_safe(jsonable_encoder(value), depth)
    except (TypeError, ValueError):
        return json_safe(str(value))


def error_body(status: int, detail: Any) -> dict[str, Any]:
    """The body of every error response, strict JSON whatever ``detail`` holds."""
    return {"detail": json_safe(detail), "status": status, "error": reason_phrase(status)}


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
    return error_response(422, [_readable(error) for error in exc.errors()])


def _readable(error: Any) -> Any:
    """Pydantic's ``string_unicode`` ("unable to parse raw data as a unicode string") says what
    is wrong with the text instead: where its first lone surrogate is."""
    if not isinstance(error, dict) or error.get("type") != "string_unicode":
        return error
    text = error.get("input")
    where = ""
    if isinstance(text, str):
        at = next((i for i, c in enumerate(text) if 0xD800 <= ord(c) <= 0xDFFF), None)
        if at is not None:
            where = f": a lone surrogate \\u{ord(text[at]):04x} at character {at}"
    return {**error, "msg": f"not valid Unicode text{where}; send UTF-8 text"}


async def unexpected_exception_handler(request: Request, exc: Exception) -> Response:
    """500 with a generic body; the traceback goes to the log, never to the client.

    Starlette re-raises the exception after this answer, so the server may log it again. It
    answers outside every middleware, so the security headers are added here.
    """
    logger.error(
        "%s %s failed with an unexpected %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return error_response(500, INTERNAL_ERROR_DETAIL, headers_for("application/json"))


DAMAGED_DETAIL = (
    "the index is damaged where this request read it; the operator sees which file in /health "
    "and replaces it with `cited repair`"
)


async def damaged_index_handler(request: Request, exc: Exception) -> Response:
    """503 when a request meets a damaged file of the served version (a SQLite page, say);
    the file goes to the log, not to the client."""
    logger.error(
        "%s %s met a damaged index file: %s (run `cited repair`)",
        request.method,
        request.url.path,
        exc,
    )
    return error_response(503, DAMAGED_DETAIL, headers={"Retry-After": "60"})


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with :func:`error_body`."""
    app.add_exception_handler(IndexIntegrityError, damaged_index_handler)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    app.add_exception_handler(Exception, unexpected_exception_handler)
