"""Article dates: what a source says, as one ISO form, and as a point in time for ranking.

``Article.published`` is either an ISO date (``"2022-06-12"``: the source gave a day) or an ISO
datetime with its UTC offset (``"2022-06-12T08:30:00+00:00"``), or None when the source says
nothing usable. A datetime written without an offset is read as UTC. Dates are never invented:
a relative time ("5 HOURS AGO") becomes a date only against a reference time the user gives
(:func:`resolve_relative`).

For filtering and ranking a date is one instant (:func:`published_timestamp`, seconds since the
epoch, UTC): a day stands for its noon UTC, the middle of that day across time zones, so that
with the default as-of slack (under 12 hours) a day-only article is visible on its own day and
never on the day before.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from functools import lru_cache

logger = logging.getLogger(__name__)

UTC = dt.UTC
#: The hour of day (UTC) that a day-only date stands for.
DAY_ONLY_HOUR = 12
_DATE_ONLY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_YEAR = re.compile(r"\b(?:1[89]|2\d)\d\d\b")
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}")
#: Relative labels whose unit is at least a day resolve to a day; smaller units to an instant.
_COARSE = re.compile(r"\b(?:day|week|month|year)s?\b|\byesterday\b|\btoday\b", re.I)


def _day(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _instant(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


def normalize_published(value: str | None) -> str | None:
    """``value`` (a source's date field) in the form ``Article.published`` holds, or None.

    ``"2022/06/12"`` -> ``"2022-06-12"``; ``"2022-06-12T08:00:00Z"`` ->
    ``"2022-06-12T08:00:00+00:00"``; ``"Sun, 12 Jun 2022 08:00:00 GMT"`` (RFC 2822, as feeds
    write it) -> ``"2022-06-12T08:00:00+00:00"``; anything not a date -> None.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    match = _DATE_ONLY.fullmatch(text)
    if match is not None:
        return _day(*(int(part) for part in match.groups()))
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _parse_free(text)
    if len(text) <= 10:
        return parsed.date().isoformat()
    return _instant(parsed)


@lru_cache(maxsize=4096)
def _parse_free(text: str) -> str | None:
    """Dates in other written forms (RFC 2822, "June 12, 2022"), through dateparser; only
    with a year written out, so that relative words ("yesterday") never become a date."""
    if not _YEAR.search(text):
        return None
    import dateparser  # imported on first use: most sources write ISO dates

    settings = {"STRICT_PARSING": True, "REQUIRE_PARTS": ["day", "month", "year"]}
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    if parsed is None:
        return None
    if not _HAS_TIME.search(text):
        return parsed.date().isoformat()
    return _instant(parsed.astimezone(UTC) if parsed.tzinfo else parsed)


def parse_reference(value: str) -> dt.datetime:
    """A reference time given by the user (``--published-at``, a sidecar's ``published_at``):
    an ISO date or datetime; raises ValueError naming the value otherwise."""
    normalized = normalize_published(value)
    if normalized is None:
        raise ValueError(
            f"{value!r} is not an ISO date or datetime (e.g. 2023-06-02 or 2023-06-02T10:00Z)"
        )
    return as_datetime(normalized)


def as_datetime(published: str) -> dt.datetime:
    """A normalized ``published`` value as an aware UTC datetime (a day: its noon UTC)."""
    if len(published) == 10:
        day = dt.date.fromisoformat(published)
        return dt.datetime(day.year, day.month, day.day, DAY_ONLY_HOUR, tzinfo=UTC)
    return dt.datetime.fromisoformat(published).astimezone(UTC)


@lru_cache(maxsize=65536)
def published_timestamp(published: str | None) -> float:
    """Seconds since the epoch (UTC) of a ``published`` value; NaN when it is unknown or not
    in the normalized form (older indexes may hold anything there)."""
    if not published:
        return math.nan
    try:
        return as_datetime(published).timestamp()
    except ValueError:
        normalized = normalize_published(published)
        return as_datetime(normalized).timestamp() if normalized else math.nan


def resolve_relative(label: str, reference: dt.datetime) -> str | None:
    """A relative byline time (``"5 hours ago"``, ``"yesterday"``) counted back from
    ``reference``: a day for labels in days or coarser, an instant otherwise; None if the label
    is not understood."""
    import dateparser

    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    base = reference.astimezone(UTC).replace(tzinfo=None)
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"}
    parsed = dateparser.parse(label, languages=["en"], settings=settings)
    if parsed is None:
        logger.debug("relative time %r not understood", label)
        return None
    if _COARSE.search(label):
        return parsed.date().isoformat()
    return _instant(parsed.replace(tzinfo=UTC))
