"""Request and response schemas of the HTTP API, one per role."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

MAX_QUERY_CHARS = 2000
MAX_K = 100


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must contain at least one non-space character")
    return value


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, examples=["defence ministers"])
    k: int = Field(default=10, ge=1, le=MAX_K, description=f"passages to return, 1..{MAX_K}")

    _strip = field_validator("query")(_not_blank)


class AskRequest(BaseModel):
    question: str = Field(
        min_length=1,
        max_length=MAX_QUERY_CHARS,
        examples=["Why is a meeting between the US and Chinese defence ministers unlikely?"],
    )
    k: int | None = Field(
        default=None, ge=1, le=MAX_K, description="passages to consider; default from settings"
    )

    _strip = field_validator("question")(_not_blank)


class PassageOut(BaseModel):
    rank: int
    article_id: str
    chunk_id: int
    title: str
    start: int
    end: int
    text: str
    score: float


class SearchResponse(BaseModel):
    results: list[PassageOut]
    timings_ms: dict[str, float]
    index_version: str


class CitationOut(BaseModel):
    n: int
    article_id: str
    title: str
    start: int
    end: int
    quote: str
    chunk_id: int


class AskResponse(BaseModel):
    answer: str | None
    abstained: bool
    reason: str | None = None
    score: float | None = None
    citations: list[CitationOut]
    passages: list[PassageOut]
    timings_ms: dict[str, float]
    index_version: str


class HealthResponse(BaseModel):
    status: str
    articles: int
    chunks: int
    index_version: str
    model: str


class ArticleOut(BaseModel):
    id: str
    title: str
    text: str
    standfirst: str | None
    authors: list[str]
    published: str | None
    section: str | None
    dateline: str | None
    url: str | None
    source: str | None
    extra: dict[str, str]


class ErrorResponse(BaseModel):
    detail: str
