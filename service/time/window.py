"""Find the time expressions in a question and turn them into one time window.

``find_window(question, as_of)`` returns the period the question asks about — a
:class:`TimeWindow` of whole UTC days, weeks (ISO, Monday to Sunday), months or years, resolved
against ``as_of`` (the question's time, timezone-aware) — or ``None`` when it names no time.

How:

1. A cheap compiled regex (``_TIME_WORDS``) runs first: month names and abbreviations, years
   1900-2099, yesterday/today/tonight/tomorrow, weekday names, "last/this/next/past/previous" +
   unit, "N days ago", "this morning", decades. Without a hit the answer is ``None`` and
   dateparser is never called (its search costs 2-300 ms; this function runs on every query).
2. A few expressions dateparser cannot read are resolved here: "this/last/next weekend" (Saturday
   and Sunday, period "day"), "the past week" / "the past 3 days" / "the last 3 days" (rolling,
   whole days ending with as_of's day), "the previous week/month/year" (as "last"), "the 1990s"
   (ten years, period "year"). Their spans are blanked before dateparser sees the question.
3. ``dateparser.search.search_dates`` finds the other expressions (``PREFER_DATES_FROM="past"``,
   so "in March" is the latest March not after as_of's month) and
   ``DateDataParser.get_date_data(...).period`` gives each one's granularity. The date found is
   widened to the whole day, ISO week, month or year containing it.
4. dateparser's false positives are rejected: a match must contain a month name, a year or a
   relative word (so "now", "Sat", "Sun", "Wed" and bare numbers are dropped); "May", "March" and
   "August" without a digit count only after a preposition ("in May", not "May the best man win",
   "Who may run", "the March on Washington", "August Wilson"); a capitalised "Today" inside a
   sentence is a name (NBC's Today). Its mistakes are fixed: "Jan. 6, 2021" (the dot split the
   date), a yearless month before a bare year ("between March and May 2021", "March ... 2023")
   takes that year, a year it drops ("on March 3, 2023 and in 2024" gives only "on March 3",
   of this year) is added, and connectors it swallows ("and 2021", "at the") are trimmed.
5. Several expressions give the span from the earliest start to the latest end; ``period`` is
   the coarsest; ``text`` is the expressions as written, "; "-joined.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

logger = logging.getLogger(__name__)

_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
)
_WEEKDAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_RELATIVE = (
    rf"yesterday|today|tonight|tomorrow|ago|weekends?|weeks?|months?|years?|morning|afternoon|evening"
    rf"|{_WEEKDAYS}"
)
_YEAR = r"(?<!\d)(?:19|20)\d\d(?!\d)"
_TIME_WORDS = re.compile(
    rf"\b(?:{_MONTHS}|{_RELATIVE})\b|{_YEAR}|\b(?:19|20)\d0s\b|\b(?:past|previous)\s", re.I
)
_ACCEPT = re.compile(rf"\b(?:{_MONTHS}|{_RELATIVE})\b|{_YEAR}", re.I)
_AMBIGUOUS_MONTH = re.compile(r"\b(?:may|march|august)\b", re.I)
_PREPOSITION = re.compile(
    r"\b(?:in|on|since|during|until|till|by|from|of|before|after|early|late|mid|between|and|or"
    r"|to|through|last|this|next|every)\W+$",
    re.I,
)
_ABBREVIATION_DOT = re.compile(r"\b(?:jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)(\.)", re.I)
_TRIM_START = re.compile(r"^(?:(?:and|or|to|the|at)\b\W*)+", re.I)
_TRIM_END = re.compile(
    r"(?:\W+\b(?:and|or|to|the|at|on|in|of|a|after|before|by|for|as|when|with|from))+$", re.I
)
#: "two years", "in 400 years", "five years in a row": a length of time, not a time, unless
#: counted from now ("ago") or named as a period ("last 3 weeks", "the past two years").
_DURATION = re.compile(
    r"\b(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty"
    r"|forty|fifty|hundred|several|few|many)\s+(?:day|week|month|year|decade|centur(?:y|ie))s?\b",
    re.I,
)
_COUNTED = re.compile(r"\bago\b|\b(?:last|past|previous|next|this)\s", re.I)
_UNIT = r"(day|week|month|year)s?"
_WEEKEND = re.compile(r"\b(this|last|next|past|previous)\s+weekend\b", re.I)
_NUMBERS = {
    word: n
    for n, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
}
_COUNT = r"\d+|" + "|".join(_NUMBERS)
_ROLLING = re.compile(
    rf"\b(?:the\s+)?(?:past\s+(?:({_COUNT})\s+)?{_UNIT}|(?:last|previous)\s+({_COUNT})\s+{_UNIT})\b",
    re.I,
)
_CALENDAR = re.compile(r"\b(this|last|next)\s+(week|month|year)\b(?!\s*(?:'s|’s))", re.I)
_PREVIOUS = re.compile(rf"\b(?:the\s+)?previous\s+{_UNIT}\b", re.I)
_DECADE = re.compile(r"\b(?:the\s+)?((?:19|20)\d0)s\b", re.I)
_COARSENESS = {"day": 0, "week": 1, "month": 2, "year": 3}


@dataclass(frozen=True)
class TimeWindow:
    """A period of time: ``[start, end)`` in UTC, as written in the question."""

    start: datetime  # inclusive, timezone-aware UTC
    end: datetime  # exclusive, timezone-aware UTC
    text: str  # the expression(s) as written in the question ("; "-joined if several)
    period: str  # "day" | "week" | "month" | "year" (the coarsest of the matched expressions)


@dataclass
class _Match:
    at: int
    text: str
    start: datetime
    end: datetime
    period: str
    counted: bool = True


def _shift(day: datetime, unit: str, n: int) -> datetime:
    """``day`` moved by ``n`` units (months and years clamp the day of the month)."""
    if unit in ("day", "week"):
        return day + timedelta(days=n * (7 if unit == "week" else 1))
    months = day.year * 12 + day.month - 1 + n * (12 if unit == "year" else 1)
    year, month = divmod(months, 12)
    for last_day in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month + 1, day=min(day.day, last_day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _period_of(when: datetime, period: str) -> tuple[datetime, datetime]:
    """The whole UTC day, ISO week, month or year containing ``when``."""
    day = datetime(when.year, when.month, when.day, tzinfo=UTC)
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    elif period == "year":
        day = day.replace(month=1, day=1)
    return day, _shift(day, period, 1)


def _by_hand(question: str, today: datetime) -> list[_Match]:
    """The expressions dateparser cannot read (weekends, rolling and previous periods, decades),
    and the calendar periods news questions ask most ("this week", "last month"), read here to
    spare the question dateparser's cost (a few ms) when nothing else names a time."""
    found: list[_Match] = []
    for m in _CALENDAR.finditer(question):
        unit = m.group(2).lower()
        shift = {"this": 0, "next": 1}.get(m.group(1).lower(), -1)
        found.append(
            _Match(m.start(), m.group(), *_period_of(_shift(today, unit, shift), unit), unit)
        )
    for m in _WEEKEND.finditer(question):
        weeks = {"this": 0, "next": 1}.get(m.group(1).lower(), -1)
        saturday = today - timedelta(days=today.weekday() - 5) + timedelta(weeks=weeks)
        found.append(_Match(m.start(), m.group(), saturday, saturday + timedelta(days=2), "day"))
    for m in _ROLLING.finditer(question):
        count = (m.group(1) or m.group(3) or "1").lower()
        n = _NUMBERS[count] if count in _NUMBERS else int(count)
        unit = (m.group(2) or m.group(4)).lower()
        start = _shift(today, unit, -n) + timedelta(days=1)
        found.append(_Match(m.start(), m.group(), start, today + timedelta(days=1), unit))
    for m in _PREVIOUS.finditer(question):
        unit = m.group(1).lower()
        found.append(_Match(m.start(), m.group(), *_period_of(_shift(today, unit, -1), unit), unit))
    for m in _DECADE.finditer(question):
        start = datetime(int(m.group(1)), 1, 1, tzinfo=UTC)
        found.append(_Match(m.start(), m.group(), start, _shift(start, "year", 10), "year"))
    return found


def _rejected(question: str, at: int, text: str) -> bool:
    """Whether dateparser's match ``text`` at ``at`` is one of its known false positives."""
    if not _ACCEPT.search(text):
        return True  # "now", "Sat", "Sun", "Wed", bare numbers
    if _DURATION.search(text) and not _COUNTED.search(question[max(0, at - 9) : at] + text):
        return True  # "at war for two years", "in 400 years", "five years in a row"
    month = _AMBIGUOUS_MONTH.search(text)
    alone = not _ACCEPT.search(_AMBIGUOUS_MONTH.sub("", text))  # no other date word
    bare = month and alone and not re.search(r"\d", text)
    if month and bare and not _PREPOSITION.search(question[: at + month.start()]):
        return True  # "May the best man win", "the March on Washington", "August Wilson"
    today = re.search(r"\bToday\b", text)
    return bool(today and question[: at + today.start()].rstrip()[-1:] not in ("", ".", "?", "!"))


@functools.cache
def _period_parser() -> Any:
    """dateparser's parser for granularity only (the period does not depend on the base date)."""
    import dateparser.date

    return dateparser.date.DateDataParser(languages=["en"], settings={"PREFER_DATES_FROM": "past"})


def _dateparser_matches(question: str, masked: str, now: datetime) -> list[_Match]:
    """dateparser's expressions in ``masked`` (the question with hand-read spans blanked)."""
    import dateparser.search

    settings: dict[str, Any] = {
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "TIMEZONE": "UTC",
    }
    text = _ABBREVIATION_DOT.sub(lambda m: m.group()[:-1] + " ", masked)  # "Jan. 6" -> "Jan  6"
    found = dateparser.search.search_dates(text, languages=["en"], settings=settings) or []
    parser = _period_parser()
    matches: list[_Match] = []
    cursor = 0
    for expression, when in found:
        pattern = r"\s+".join(re.escape(token) for token in expression.split())
        located = re.compile(pattern).search(text, cursor) or re.compile(pattern).search(text)
        if located is None:
            logger.debug("time expression %r not found in %r", expression, question)
            continue
        cursor = located.end()
        at, written = located.start(), question[located.start() : located.end()]
        trimmed = _TRIM_END.sub("", _TRIM_START.sub("", written))
        at += len(written) - len(written.lstrip()) + written.find(trimmed.strip())
        written = trimmed.strip()
        if not written or _rejected(question, at, written):
            logger.debug("time expression %r rejected in %r", expression, question)
            continue
        period = parser.get_date_data(expression).period or "day"
        period = period if period in _COARSENESS else "day"  # "time" ("tonight") is a day
        matches.append(_Match(at, written, *_period_of(when, period), period))
    return matches


def _year_for_yearless(matches: list[_Match]) -> None:
    """A month or day written without a year takes the year of a bare year written after it."""
    for i, match in enumerate(matches):
        if match.period not in ("day", "month") or re.search(_YEAR, match.text):
            continue
        if re.search(rf"\b(?:{_RELATIVE})\b", match.text, re.I):
            continue
        for later in matches[i + 1 :]:
            if later.period == "year" and not re.search(rf"\b(?:{_MONTHS})\b", later.text, re.I):
                year = later.start.year
                match.start = _shift(match.start, "year", year - match.start.year)
                match.end = _shift(match.start, match.period, 1)
                later.counted = False
                break


def find_window(question: str, as_of: datetime) -> TimeWindow | None:
    """The period the question asks about, resolved against ``as_of`` (timezone-aware); None when
    the question names no time."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware")
    if not _TIME_WORDS.search(question):
        return None
    now = as_of.astimezone(UTC)
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    matches = _by_hand(question, today)
    masked = list(question)
    for match in matches:
        masked[match.at : match.at + len(match.text)] = " " * len(match.text)
    rest = "".join(masked)
    if _TIME_WORDS.search(rest):
        matches += _dateparser_matches(question, rest, now)
    spans = [(match.at, match.at + len(match.text)) for match in matches]
    for m in re.finditer(rf"(?:\bin\s+)?({_YEAR})", question):  # years dateparser dropped
        if not any(a <= m.start(1) < b for a, b in spans):
            start = datetime(int(m.group(1)), 1, 1, tzinfo=UTC)
            matches.append(_Match(m.start(), m.group(), start, _shift(start, "year", 1), "year"))
    matches.sort(key=lambda match: match.at)
    _year_for_yearless(matches)
    counted = [match for match in matches if match.counted] or matches
    if not counted:
        return None
    return TimeWindow(
        start=min(match.start for match in counted),
        end=max(match.end for match in counted),
        text="; ".join(match.text for match in matches),
        period=max((match.period for match in counted), key=_COARSENESS.__getitem__),
    )
