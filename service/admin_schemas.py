"""Request and response schemas of the admin (write) routes."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from indexer.ids import ID_RULE, check_article_id
from indexer.types import Article

MAX_BATCH = 1000


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain at least one non-space character")
    return value


def _no_controls(value: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("must not contain control characters (tabs, newlines, NUL ...)")
    return value


class ArticleIn(BaseModel):
    """One article to add or replace. Without ``id``, the id is derived from title and text,
    so posting the same article twice stores it once."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, description=f"an id is {ID_RULE}")
    title: str = Field(min_length=1, max_length=1000)
    text: str = Field(min_length=1, description="the body that citations quote")
    url: str | None = Field(default=None, max_length=2000)
    published: str | None = Field(
        default=None, max_length=40, description="ISO date or date-time, e.g. 2023-06-01"
    )
    authors: list[str] = Field(default_factory=list, max_length=50)
    section: str | None = Field(default=None, max_length=500)
    source: str | None = Field(default=None, max_length=500)
    standfirst: str | None = Field(default=None, max_length=5000)

    _blank = field_validator("title", "text")(_text)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        return None if value is None else check_article_id(_no_controls(_text(value)).strip())

    @field_validator("title", "source", "section", "url")
    @classmethod
    def _line(cls, value: str | None) -> str | None:
        return None if value is None else _no_controls(value.strip())

    @field_validator("authors")
    @classmethod
    def _authors(cls, value: list[str]) -> list[str]:
        for name in value:
            if len(name) > 200:
                raise ValueError(f"author name longer than 200 characters: {name[:40]!r}...")
            _no_controls(name)
        return [n.strip() for n in value if n.strip()]

    @field_validator("published")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD) or date-time") from None

    def to_article(self) -> Article:
        article_id = (
            self.id or hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()[:16]
        )
        return Article(
            id=article_id,
            title=self.title,
            text=self.text,
            standfirst=self.standfirst,
            section=self.section,
            authors=tuple(self.authors),
            published=self.published,
            url=self.url,
            source=self.source,
        )


class ArticleBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    articles: list[ArticleIn] = Field(min_length=1, max_length=MAX_BATCH)


class SkippedOut(BaseModel):
    file: str
    reason: str


class StoreResponse(BaseModel):
    """What a write did and the version that now serves it."""

    stored: list[str] = Field(description="ids added or replaced")
    unchanged: list[str] = Field(description="ids already indexed with this exact content")
    skipped: list[SkippedOut] = Field(description="uploaded files or records that were unreadable")
    version: str
    articles: int
    chunks: int


class DeleteResponse(BaseModel):
    deleted: list[str]
    version: str
    articles: int
    chunks: int


def request_body_schema(max_batch: int = MAX_BATCH) -> dict[str, Any]:
    """OpenAPI request body of ``POST /articles``: JSON (one or many) or uploaded files."""
    one = ArticleIn.model_json_schema()
    one.pop("title", None)
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        one,
                        {
                            "type": "object",
                            "properties": {
                                "articles": {
                                    "type": "array",
                                    "items": one,
                                    "minItems": 1,
                                    "maxItems": max_batch,
                                }
                            },
                            "required": ["articles"],
                            "additionalProperties": False,
                        },
                    ]
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "article files: .txt .md .html .htm .jsonl",
                        }
                    },
                    "required": ["file"],
                }
            },
        },
    }
