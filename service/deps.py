"""Typed dependencies: routes get the live index loaded in the lifespan, never a global."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError

from indexer.ids import ID_RULE, id_problem
from service.live import LiveIndex
from service.pipeline import Pipeline


def get_live(request: Request) -> LiveIndex:
    live: LiveIndex = request.app.state.live
    return live


def get_pipeline(request: Request) -> Pipeline:
    """The pipeline of the version being served when the request arrived (one per request)."""
    return get_live(request).pipeline


LiveDep = Annotated[LiveIndex, Depends(get_live)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]


def path_article_id(request: Request, article_id: str) -> str:
    """The article id of a ``{article_id:path}`` route as the client sent it.

    Starlette's route patterns end in ``$``, which matches before a trailing newline, so the
    converter drops one: ``/articles/story-0%0A`` would reach the route as ``story-0``. It is
    put back here, for the id rule to refuse.
    """
    if request.scope["path"].endswith("\n") and not article_id.endswith("\n"):
        return article_id + "\n"
    return article_id


def valid_article_id(
    request: Request,
    article_id: Annotated[str, Path(description=f"an article id: {ID_RULE}")],
) -> str:
    """The path's article id, refused with a 422 naming the rule when it is outside it."""
    article_id = path_article_id(request, article_id)
    problem = id_problem(article_id)
    if problem is not None:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ["path", "article_id"],
                    "msg": f"article id {problem}; an id is {ID_RULE}",
                    "input": article_id[:200],
                }
            ]
        )
    return article_id


ArticleIdDep = Annotated[str, Depends(valid_article_id)]
