"""Metadata filters on articles, applied before any ranking cut-off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Filters:
    """Keep only chunks of articles that match every given field (None: no constraint).

    Dates compare with the article's ISO ``published`` date (articles without one are left out
    when a date bound is set); ``source`` and ``author`` match case-insensitively, ``author`` as
    a substring of any author's name.
    """

    published_from: date | None = None
    published_to: date | None = None
    source: str | None = None
    author: str | None = None

    def __post_init__(self) -> None:
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError(
                f"published_from {self.published_from} is after published_to {self.published_to}"
            )

    @property
    def empty(self) -> bool:
        return not (self.published_from or self.published_to or self.source or self.author)

    def sql(self) -> tuple[str, list[str]]:
        """A WHERE clause over ``articles a`` and its parameters."""
        clauses: list[str] = []
        params: list[str] = []
        if self.published_from:
            clauses.append("substr(a.published, 1, 10) >= ?")
            params.append(self.published_from.isoformat())
        if self.published_to:
            clauses.append("substr(a.published, 1, 10) <= ?")
            params.append(self.published_to.isoformat())
        if self.source:
            clauses.append("lower(a.source) = lower(?)")
            params.append(self.source.strip())
        if self.author:
            clauses.append("instr(lower(a.authors), lower(?)) > 0")
            params.append(self.author.strip())
        return " AND ".join(clauses) or "1", params
