"""The time a question is asked at ("as of"): what the archive knew then is all it may use.

A user gives an ISO date (``2022-06-16``: as of the end of that day, UTC) or datetime
(``2022-06-16T09:00-04:00``; without an offset, UTC); nothing given means now.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

UTC = dt.UTC
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class InvalidAsOfError(ValueError):
    """An as-of time that is not an ISO date or datetime."""


@dataclass(frozen=True)
class AsOf:
    """When a question is asked: ``instant`` (aware, UTC), and what the user wrote (None: now)."""

    instant: dt.datetime
    given: str | None = None

    @classmethod
    def now(cls) -> AsOf:
        return cls(dt.datetime.now(UTC))

    @property
    def timestamp(self) -> float:
        return self.instant.timestamp()

    def cutoff(self, slack_hours: float) -> float:
        """The latest publication time (seconds since the epoch) still visible: ``instant``
        plus the slack allowed for sources whose times are off by a time zone."""
        return self.timestamp + slack_hours * 3600.0

    def isoformat(self) -> str:
        return self.instant.isoformat(timespec="seconds")


def parse_as_of(value: str | dt.date | dt.datetime | None) -> AsOf:
    """The as-of time ``value`` names; None: now. Raises :class:`InvalidAsOfError` naming the
    value and the forms accepted."""
    if value is None:
        return AsOf.now()
    given = value if isinstance(value, str) else value.isoformat()
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = _end_of_day(value)
    else:
        text = value.strip()
        try:
            if _DATE.fullmatch(text):
                moment = _end_of_day(dt.date.fromisoformat(text))
            else:
                moment = dt.datetime.fromisoformat(
                    text.replace("Z", "+00:00").replace("z", "+00:00")
                )
        except ValueError:
            raise InvalidAsOfError(
                f"as_of {value!r} is not an ISO date or datetime; valid: 2022-06-16 (the end of "
                "that day, UTC), 2022-06-16T09:00:00-04:00, 2022-06-16T13:00Z"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return AsOf(moment.astimezone(UTC), given)


def _end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max, tzinfo=UTC)
