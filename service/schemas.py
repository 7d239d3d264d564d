"""Request and response schemas of the HTTP API, one per role."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from cited.config import MAX_K_CEILING, MAX_QUERY_CHARS_CEILING, Mode
from indexer.filters import Filters
from service.time.as_of import AsOf, parse_as_of

#: The ceilings of the request schemas: the largest values the settings may configure. The
#: configured limits (``CITED_MAX_QUERY_CHARS``, ``CITED_MAX_K``) are enforced per app by
#: :mod:`service.query_limits` and shown in its OpenAPI document.
MAX_QUERY_CHARS = MAX_QUERY_CHARS_CEILING
MAX_K = MAX_K_CEILING
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must contain at least one non-space character")
    return value


class RetrievalOptions(BaseModel):
    """Mode and filters shared by /search and /ask; filters apply before the top-k cut."""

    mode: Mode | None = Field(default=None, description="retrieval mode; default from settings")
    published_from: date | None = Field(default=None, description="ISO date, inclusive")
    published_to: date | None = Field(default=None, description="ISO date, inclusive")
    source: str | None = Field(default=None, max_length=200, description="exact, any case")
    author: str | None = Field(default=None, max_length=200, description="part of a name")
    as_of: str | None = Field(
        default=None,
        max_length=40,
        description="when the question is asked: an ISO date (the end of that day, UTC) or "
        "datetime (no offset: UTC); default now. Nothing published later (beyond "
        "CITED_AS_OF_SLACK_HOURS) is retrieved or cited, and the freshness prior centres on it",
        examples=["2022-06-16", "2022-06-16T09:00:00-04:00"],
    )

    @field_validator("as_of")
    @classmethod
    def _as_of(cls, value: str | None) -> str | None:
        if value is not None:
            parse_as_of(value)  # InvalidAsOfError is a ValueError: a 422 naming the value
        return value

    def when(self) -> AsOf | None:
        """The as-of time asked for; None: now."""
        return parse_as_of(self.as_of) if self.as_of is not None else None

    @field_validator("published_from", "published_to", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        """Only ``YYYY-MM-DD`` (or a ``date``): pydantic alone would also take a number as a Unix
        time, which the schema (``format: date``) does not allow."""
        if value is None or isinstance(value, date):
            return value
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise ValueError(f"must be an ISO date like 2024-01-31, got {value!r}")
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError(
                f"published_from {self.published_from} is after published_to {self.published_to}"
            )
        return self

    def filters(self) -> Filters:
        return Filters(
            published_from=self.published_from,
            published_to=self.published_to,
            source=(self.source or "").strip() or None,
            author=(self.author or "").strip() or None,
        )


class SearchRequest(RetrievalOptions):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, examples=["defence ministers"])
    k: int = Field(
        default=10, ge=1, le=MAX_K, description="passages to return, 1..CITED_MAX_K (100)"
    )

    _strip = field_validator("query")(_not_blank)


class AskRequest(RetrievalOptions):
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
    similarity: float
    published: str | None
    source: str | None
    authors: list[str]
    freshness: float = Field(
        default=1.0, description="the freshness factor multiplied into score (1: none)"
    )


class WindowOut(BaseModel):
    """The period a question names ("last week", "in March 2023"), resolved against as_of."""

    start: str = Field(description="inclusive, ISO datetime, UTC")
    end: str = Field(description="exclusive, ISO datetime, UTC")
    text: str = Field(description="the expression as written in the question")
    period: str = Field(description="day, week, month or year")
    moves_prior: bool = Field(
        description="whether the prior ages articles from this period (only a period wholly "
        "before as_of does: 'this week' asks for what is recent, which the prior favours)"
    )


class FreshnessOut(BaseModel):
    """The freshness prior: score * (1 - weight + weight * decay(age)), see CITED_FRESHNESS_*."""

    shape: str
    scale_days: float
    offset_days: float
    decay: float
    weight: float


class TimeOut(BaseModel):
    """What time did to this request."""

    as_of: str = Field(description="the as-of time used (ISO, UTC)")
    as_of_given: str | None = Field(description="as the request gave it; null: now")
    slack_hours: float = Field(description="hours past as_of still counted as published")
    window: WindowOut | None = Field(
        description="the period the question names, if any: the prior ages articles from it"
    )
    freshness: FreshnessOut


class SearchResponse(BaseModel):
    results: list[PassageOut]
    mode: str
    timings_ms: dict[str, float]
    index_version: str
    time: TimeOut | None = None


class CitationOut(BaseModel):
    n: int
    article_id: str
    title: str
    start: int
    end: int
    quote: str
    chunk_id: int
    published: str | None = Field(default=None, description="the cited article's date")


class ShortAnswerOut(BaseModel):
    """The name, date, number or phrase asked for: ``article.text[start:end]``, inside a
    cited sentence."""

    text: str
    article_id: str
    start: int
    end: int


class AskResponse(BaseModel):
    answer: str | None
    abstained: bool
    reason: str | None = None
    score: float | None = None
    citations: list[CitationOut]
    short_answer: ShortAnswerOut | None = None
    passages: list[PassageOut]
    mode: str
    timings_ms: dict[str, float]
    index_version: str
    time: TimeOut | None = None
    unsupported: list[str] = Field(
        default_factory=list,
        description="generated sentences dropped because the cited passages do not back them",
    )
    generator: str = Field(
        default="none",
        description="what wrote the answer text: 'local' or 'openai' for a verified generated "
        "answer, 'none' for the extractive answer (also the fallback)",
    )


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: a file of the served version is damaged (``damaged``) or a newer "
        "version was refused (``reload_error``); answers still come from the version served"
    )
    articles: int
    chunks: int
    index_version: str
    model: str
    segments: int = 0
    reload_error: str | None = Field(
        default=None, description="why a newer published version is not served (if one is not)"
    )
    damaged: list[str] = Field(
        default_factory=list,
        description="damaged files of the served version (path: problem), found by the "
        "checksum re-check every CITED_VERIFY_INTERVAL_S",
    )
    repair: str | None = Field(
        default=None, description="the command that replaces damaged files (when degraded)"
    )
    admin: bool = Field(default=False, description="write routes enabled (CITED_ADMIN_TOKEN)")
    mode: str = Field(default="hybrid", description="the default retrieval mode in effect")
    modes: list[str] = Field(default_factory=list, description="modes this index can run")
    second_stage: str | None = Field(
        default=None, description="the second stage of hybrid+rerank (None: not available)"
    )
    second_stage_unavailable: str | None = Field(
        default=None, description="why hybrid+rerank cannot run on this index, if it cannot"
    )
    sentence_ranker: str | None = Field(
        default=None,
        description="what the trained ranker ordering /ask's sentences was fitted on "
        "(CITED_SENTENCE_RANKER; None: the linear score alone)",
    )


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
    """The body of every error response but 422 (see ``service.errors``)."""

    detail: str = Field(description="what went wrong, naming the bad value")
    status: int = Field(description="the HTTP status code", examples=[404])
    error: str = Field(description="the status's reason phrase", examples=["Not Found"])


class ValidationErrorItem(BaseModel):
    """One invalid field, as pydantic reports it."""

    loc: list[str | int] = Field(description="where: e.g. ['body', 'k']")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationErrorResponse(BaseModel):
    """The body of a 422: ``detail`` lists every invalid field."""

    detail: list[ValidationErrorItem]
    status: int = Field(description="422", examples=[422])
    error: str = Field(description="the status's reason phrase", examples=["Unprocessable Entity"])
