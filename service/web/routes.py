"""The web page: ``/`` (ask and search, driven by ``static/app.js``) and ``/read/{id}`` (an
article with the cited span marked), server-rendered from the same pipeline as the API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from indexer.errors import ArticleNotFoundError
from indexer.ids import ID_RULE, id_problem
from service.deps import PipelineDep, get_live, path_article_id
from service.routers.health import describe
from service.web.highlight import BadSpanError, parse_span, render_paragraphs

HERE = Path(__file__).resolve().parent
STATIC_PATH = "/static"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["static"] = STATIC_PATH
router = APIRouter(tags=["web"], include_in_schema=False)


def static_files() -> StaticFiles:
    """The page's CSS and JavaScript, to mount at :data:`STATIC_PATH`."""
    return StaticFiles(directory=HERE / "static")


@router.get("/", response_class=HTMLResponse)
def home(request: Request, pipeline: PipelineDep) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "index.html", {"health": describe(pipeline, get_live(request))}
    )


def _error_page(
    request: Request, pipeline: PipelineDep, status: int, title: str, message: str
) -> HTMLResponse:
    context = {"health": describe(pipeline, get_live(request)), "title": title, "message": message}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


OffsetParam = Annotated[str | None, Query(description="character offset into the article text")]


@router.get("/read/{article_id:path}", response_class=HTMLResponse)
def read(
    request: Request,
    article_id: str,
    pipeline: PipelineDep,
    start: OffsetParam = None,
    end: OffsetParam = None,
    sa_start: OffsetParam = None,
    sa_end: OffsetParam = None,
) -> HTMLResponse:
    """One article, its paragraphs escaped, ``text[start:end)`` in ``<mark id="cited">``."""
    article_id = path_article_id(request, article_id)
    problem = id_problem(article_id)
    if problem is not None:
        return _error_page(
            request,
            pipeline,
            422,
            "Not an article id",
            f"“{article_id[:200]}” is not an article id: it {problem}; an id is {ID_RULE}.",
        )
    try:
        article = pipeline.index.article(article_id)
    except ArticleNotFoundError:
        return _error_page(
            request,
            pipeline,
            404,
            "Article not found",
            f"There is no article with id “{article_id}” in this index "
            f"(version {pipeline.index.version}).",
        )
    try:
        cited, short = parse_span(len(article.text), start, end, sa_start, sa_end)
    except BadSpanError as exc:
        return _error_page(
            request, pipeline, 400, "Cannot show this passage", f"Bad offsets: {exc}."
        )
    context = {
        "health": describe(pipeline, get_live(request)),
        "article": article,
        "paragraphs": render_paragraphs(article.text, cited, short),
        "cited": cited,
        "published": article.published or article.extra.get("published_relative"),
        "url": article.url if (article.url or "").startswith(("https://", "http://")) else None,
    }
    return templates.TemplateResponse(request, "read.html", context)
