from __future__ import annotations

from fastapi import APIRouter, HTTPException

from indexer.errors import ArticleNotFoundError
from service.deps import ArticleIdDep, PipelineDep
from service.errors import error_responses
from service.schemas import ArticleOut

router = APIRouter(tags=["articles"])


@router.get(
    "/articles/{article_id:path}",
    response_model=ArticleOut,
    responses=error_responses(
        404, 422, 500, 503, descriptions={404: "no article with this id in this index"}
    ),
)
def get_article(article_id: ArticleIdDep, pipeline: PipelineDep) -> ArticleOut:
    """One article with its full text: the text every citation's offsets refer to."""
    try:
        article = pipeline.index.article(article_id)
    except ArticleNotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    return ArticleOut(
        id=article.id,
        title=article.title,
        text=article.text,
        standfirst=article.standfirst,
        authors=list(article.authors),
        published=article.published,
        section=article.section,
        dateline=article.dateline,
        url=article.url,
        source=article.source,
        extra=article.extra,
    )
