"""Write routes: add/replace and delete articles. Bearer token required (``CITED_ADMIN_TOKEN``);
without a configured token they are disabled (403). Each write publishes a new index version
and the service serves it before the response leaves."""

from __future__ import annotations

import dataclasses
import json
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from indexer.errors import CitedError, IndexBusyError
from indexer.readers import read_corpus, supported_suffixes
from indexer.types import Article, Skipped
from indexer.update import BuildReport
from service.admin_schemas import (
    ArticleBatch,
    ArticleIn,
    DeleteResponse,
    SkippedOut,
    StoreResponse,
    request_body_schema,
)
from service.deps import ArticleIdDep, LiveDep
from service.errors import error_responses
from service.limits import WriteSlots

router = APIRouter(tags=["admin"])

_BODY = TypeAdapter(ArticleIn | ArticleBatch)
_DESCRIBED = {
    401: "missing or wrong bearer token",
    403: "write routes disabled: CITED_ADMIN_TOKEN is not set",
    404: "no article with this id",
    415: "the body is neither JSON nor multipart/form-data",
    422: "invalid article (each invalid field with the reason) or no readable uploaded file",
    503: "another writer holds the index or too many uploads run at once (retry after "
    "Retry-After), or the index cannot be changed",
}


def require_admin(request: Request, live: LiveDep) -> None:
    """Check ``Authorization: Bearer <token>`` against the configured admin token."""
    token = live.settings.serve.admin_token
    if token is None or not token.get_secret_value():
        raise HTTPException(
            status_code=403,
            detail="write routes are disabled: set CITED_ADMIN_TOKEN to enable them",
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(
            status_code=401,
            detail="missing bearer token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not secrets.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        raise HTTPException(
            status_code=401,
            detail="the bearer token is not the admin token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


Admin = Annotated[None, Depends(require_admin)]


async def upload_slot(request: Request, live: LiveDep) -> AsyncIterator[None]:
    """One of the ``CITED_UPLOAD_CONCURRENCY`` write slots, held until the response; none free:
    503 with Retry-After (taken after the token check, before the body is read)."""
    slots: WriteSlots = request.app.state.write_slots
    if not slots.take():
        raise HTTPException(
            status_code=503,
            detail=f"{slots.limit} uploads are already running (CITED_UPLOAD_CONCURRENCY): "
            "retry in a few seconds",
            headers={"Retry-After": "5"},
        )
    try:
        yield
    finally:
        slots.give_back()


Slot = Annotated[None, Depends(upload_slot)]


@router.post(
    "/articles",
    response_model=StoreResponse,
    openapi_extra={"requestBody": request_body_schema()},
    responses=error_responses(401, 403, 413, 415, 422, 500, 503, descriptions=_DESCRIBED),
)
async def add_articles(request: Request, live: LiveDep, _: Admin, __: Slot) -> StoreResponse:
    """Add articles or replace them (same id): JSON (one article or ``{"articles": [...]}``) or
    uploaded files (``file`` fields: .txt .md .html .htm .jsonl). Unchanged articles are not
    re-embedded. Answers with the stored ids and the version now being served."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    skipped: list[Skipped] = []
    if content_type == "application/json":
        articles = await _json_articles(request)
    elif content_type == "multipart/form-data":
        articles, skipped = await _uploaded_articles(request)
    else:
        raise HTTPException(
            status_code=415,
            detail=f"content type {content_type or 'none'!r} is not accepted: send "
            "'application/json' or 'multipart/form-data'",
        )
    report = await _change(live, articles=articles)
    return StoreResponse(
        stored=report.added + report.updated,
        unchanged=report.unchanged,
        skipped=[SkippedOut(file=s.path, reason=s.reason) for s in skipped],
        version=live.version,
        articles=report.articles,
        chunks=report.chunks,
    )


@router.delete(
    "/articles/{article_id:path}",
    response_model=DeleteResponse,
    responses=error_responses(401, 403, 404, 422, 500, 503, descriptions=_DESCRIBED),
)
async def delete_article(article_id: ArticleIdDep, live: LiveDep, _: Admin) -> DeleteResponse:
    """Remove one article from the index (a new version, served before the response)."""
    report = await _change(live, delete=[article_id])
    if report.not_found:
        raise HTTPException(status_code=404, detail=f"no article with id {article_id!r}")
    return DeleteResponse(
        deleted=report.deleted, version=live.version, articles=report.articles, chunks=report.chunks
    )


async def _change(
    live: LiveDep, articles: list[Article] | None = None, delete: list[str] | None = None
) -> BuildReport:
    try:
        return await run_in_threadpool(live.change, articles or [], delete or [])
    except IndexBusyError as exc:
        raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "5"}) from exc
    except CitedError as exc:
        raise HTTPException(status_code=503, detail=f"the index cannot be changed: {exc}") from exc


async def _json_articles(request: Request) -> list[Article]:
    try:
        payload = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ["body"], "msg": f"invalid JSON: {exc}"}]
        ) from exc
    try:
        parsed = _BODY.validate_python(payload)
    except ValidationError as exc:
        errors = [
            {"type": e["type"], "loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors()
        ]
        raise RequestValidationError(errors) from exc
    items = parsed.articles if isinstance(parsed, ArticleBatch) else [parsed]
    return [item.to_article() for item in items]


async def _uploaded_articles(request: Request) -> tuple[list[Article], list[Skipped]]:
    try:
        form = await request.form()
    except HTTPException:  # the body is over the limit (413)
        raise
    except Exception as exc:  # malformed multipart: the parser's own error is the reason
        raise _invalid_upload(f"unreadable multipart body: {exc}") from exc
    uploads = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
    if not uploads:
        raise _invalid_upload("no file field: upload article files as 'file'")
    valid = supported_suffixes()
    articles: list[Article] = []
    skipped: list[Skipped] = []
    with tempfile.TemporaryDirectory(prefix="cited-upload-") as folder:
        for number, upload in enumerate(uploads):
            name = Path(upload.filename or "").name
            if Path(name).suffix.lower() not in valid:
                skipped.append(
                    Skipped(name, f"unsupported file type; valid types: {' '.join(valid)}")
                )
                continue
            target = Path(folder) / str(number) / name
            target.parent.mkdir()
            target.write_bytes(await upload.read())
            for item in read_corpus([target]):
                if isinstance(item, Skipped):  # the file's name, and the line of a bad record
                    line = item.path.removeprefix(str(target))
                    skipped.append(
                        Skipped(name + line if line.startswith(":") else name, item.reason)
                    )
                else:
                    articles.append(dataclasses.replace(item, path=name))
    if not articles:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped)
        raise _invalid_upload(f"no article could be read ({reasons})")
    return articles, skipped


def _invalid_upload(message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ["body", "file"], "msg": message}]
    )
