"""service.time.window: time expressions in questions -> UTC time windows.

The questions are asked at ``AS_OF``, 2022-06-16 12:00 UTC, a Thursday (ISO week Monday 13 to
Sunday 19 June); every expected window is computed by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.time.window import TimeWindow, find_window

AS_OF = datetime(2022, 6, 16, 12, 0, tzinfo=UTC)


def d(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


WINDOWS: list[tuple[str, datetime, datetime, str, str]] = [
    # question, start, end, period, text
    ("What happened on March 3, 2023?", d(2023, 3, 3), d(2023, 3, 4), "day", "on March 3, 2023"),
    ("Any news from 2023-03-03?", d(2023, 3, 3), d(2023, 3, 4), "day", "from 2023-03-03"),
    ("What happened in March 2023?", d(2023, 3, 1), d(2023, 4, 1), "month", "in March 2023"),
    ("What happened in March?", d(2022, 3, 1), d(2022, 4, 1), "month", "in March"),
    ("What happened in June?", d(2022, 6, 1), d(2022, 7, 1), "month", "in June"),
    ("What happened in December?", d(2021, 12, 1), d(2022, 1, 1), "month", "in December"),
    ("Who won in 2019?", d(2019, 1, 1), d(2020, 1, 1), "year", "in 2019"),
    ("What did Obama say in 2009?", d(2009, 1, 1), d(2010, 1, 1), "year", "in 2009"),
    ("What happened yesterday?", d(2022, 6, 15), d(2022, 6, 16), "day", "yesterday"),
    ("What happened today?", d(2022, 6, 16), d(2022, 6, 17), "day", "today"),
    ("Who spoke this morning?", d(2022, 6, 16), d(2022, 6, 17), "day", "this morning"),
    ("What happened this week?", d(2022, 6, 13), d(2022, 6, 20), "week", "this week"),
    ("What happened last week?", d(2022, 6, 6), d(2022, 6, 13), "week", "last week"),
    ("Top stories this month?", d(2022, 6, 1), d(2022, 7, 1), "month", "this month"),
    ("Top stories last month?", d(2022, 5, 1), d(2022, 6, 1), "month", "last month"),
    ("Top stories this year?", d(2022, 1, 1), d(2023, 1, 1), "year", "this year"),
    ("Top stories last year?", d(2021, 1, 1), d(2022, 1, 1), "year", "last year"),
    ("What happened 3 days ago?", d(2022, 6, 13), d(2022, 6, 14), "day", "3 days ago"),
    ("What happened 2 weeks ago?", d(2022, 5, 30), d(2022, 6, 6), "week", "2 weeks ago"),
    ("What happened last Monday?", d(2022, 6, 13), d(2022, 6, 14), "day", "last Monday"),
    ("Who won between 2019 and 2021?", d(2019, 1, 1), d(2022, 1, 1), "year", "2019; 2021"),
    ("Who won in 2019 or 2020?", d(2019, 1, 1), d(2021, 1, 1), "year", "in 2019; 2020"),
]


@pytest.mark.parametrize(("question", "start", "end", "period", "text"), WINDOWS)
def test_windows(question: str, start: datetime, end: datetime, period: str, text: str) -> None:
    assert find_window(question, AS_OF) == TimeWindow(start, end, text, period)


# dateparser's mistakes, corrected (each names the case).
FIXES: list[tuple[str, datetime, datetime, str, str]] = [
    # "Jan." - the dot split it into "Jan" (this year) and "6, 2021 at the".
    (
        "What happened Jan. 6, 2021 at the Capitol?",
        d(2021, 1, 6),
        d(2021, 1, 7),
        "day",
        "Jan. 6, 2021",
    ),
    # "Sept." - split into "in Sept" (this year's September) and "2021".
    ("What happened in Sept. 2021?", d(2021, 9, 1), d(2021, 10, 1), "month", "in Sept. 2021"),
    # A yearless month before a bare year: dateparser puts March and May in 2022.
    (
        "What happened between March and May 2021?",
        d(2021, 3, 1),
        d(2021, 6, 1),
        "month",
        "March; May; 2021",
    ),
    (
        "What happened in the first week of March 2023?",
        d(2023, 3, 1),
        d(2023, 4, 1),
        "month",
        "March; 2023",
    ),
    # dateparser returns only "on March 3" (of 2022) and drops both years.
    (
        "What happened on March 3, 2023 and in 2024?",
        d(2023, 3, 3),
        d(2025, 1, 1),
        "year",
        "on March 3; 2023; in 2024",
    ),
    # dateparser finds nothing in these.
    ("What happened last weekend?", d(2022, 6, 11), d(2022, 6, 13), "day", "last weekend"),
    ("Plans for this weekend?", d(2022, 6, 18), d(2022, 6, 20), "day", "this weekend"),
    ("What happened in the past week?", d(2022, 6, 10), d(2022, 6, 17), "week", "the past week"),
    ("Any news in the past 3 days?", d(2022, 6, 14), d(2022, 6, 17), "day", "the past 3 days"),
    (
        "Any news in the last 2 months?",
        d(2022, 4, 17),
        d(2022, 6, 17),
        "month",
        "the last 2 months",
    ),
    (
        "What happened the previous month?",
        d(2022, 5, 1),
        d(2022, 6, 1),
        "month",
        "the previous month",
    ),
    ("What music was popular in the 1990s?", d(1990, 1, 1), d(2000, 1, 1), "year", "the 1990s"),
    # "May" after a preposition is the month; a modal "may" in the same question is not.
    ("Who may run for office in May?", d(2022, 5, 1), d(2022, 6, 1), "month", "in May"),
    ("Who may run for office in 2024?", d(2024, 1, 1), d(2025, 1, 1), "year", "in 2024"),
    # "The March on Washington" is not the month; its year is.
    (
        "Who spoke at the March on Washington in 1963?",
        d(1963, 1, 1),
        d(1964, 1, 1),
        "year",
        "in 1963",
    ),
    # "August" as a name is not the month (a name is the likelier reading without a preposition).
    ("What did August Wilson write in 1985?", d(1985, 1, 1), d(1986, 1, 1), "year", "in 1985"),
    # NBC's "Today" (capitalised inside a sentence) is a name; "yesterday" still counts.
    (
        "What did NBC's Today show air yesterday?",
        d(2022, 6, 15),
        d(2022, 6, 16),
        "day",
        "yesterday",
    ),
    ("Today, who won?", d(2022, 6, 16), d(2022, 6, 17), "day", "Today"),
    # Trailing connectors are not part of the expression ("this week after" the match).
    ("Who resigned this week after the vote?", d(2022, 6, 13), d(2022, 6, 20), "week", "this week"),
    # Counted-out rolling periods ("the past two years" was read as the year two years ago).
    (
        "What changed in the past two years?",
        d(2020, 6, 17),
        d(2022, 6, 17),
        "year",
        "the past two years",
    ),
    ("Who was elected two years ago?", d(2020, 1, 1), d(2021, 1, 1), "year", "two years ago"),
]


@pytest.mark.parametrize(("question", "start", "end", "period", "text"), FIXES)
def test_dateparser_mistakes_corrected(
    question: str, start: datetime, end: datetime, period: str, text: str
) -> None:
    assert find_window(question, AS_OF) == TimeWindow(start, end, text, period)


@pytest.mark.parametrize(
    "question",
    [
        "May the best man win?",  # modal "May"
        "Who may run for office?",  # modal "may"
        "What was the march on Washington about?",  # "march", the noun
        "Who organised the March on Washington?",
        "Who is the second president?",  # ordinals
        "Who came first in the race?",
        "Which 3 players scored?",  # bare numbers
        "What is happening now?",  # "now"
        "Who hosts Today's show?",  # "Today" in a name
        "What do Sun readers think?",  # "Sun", "Sat", "Wed" in other senses
        "Who sat on the committee?",
        "Who did August Wilson admire?",  # "August" as a name
        "Which wildly popular show was recently green lit for a new season?",
        "Who is the president of France?",
        # Lengths of time are not times: dateparser read them as "two years ago" or "in N years".
        "Which country has been at war for two years?",
        "What will the city look like in 400 years?",
        "Which team won five years in a row?",
    ],
)
def test_no_time(question: str) -> None:
    assert find_window(question, AS_OF) is None


def test_calendar_periods_are_read_without_dateparser(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "this week" (the commonest news expression) costs no dateparser call; dateparser also
    missed it in some sentences ("is slamming California this week, causing ...")."""
    import dateparser.search

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("dateparser was called")

    monkeypatch.setattr(dateparser.search, "search_dates", fail)
    question = "A bomb cyclone is slamming California this week, causing widespread flooding."
    assert find_window(question, AS_OF) == TimeWindow(
        d(2022, 6, 13), d(2022, 6, 20), "this week", "week"
    )
    assert find_window("Who led last month?", AS_OF) == TimeWindow(
        d(2022, 5, 1), d(2022, 6, 1), "last month", "month"
    )


def test_prefilter_skips_dateparser(monkeypatch: pytest.MonkeyPatch) -> None:
    import dateparser.search

    def explode(*args: object, **kwargs: object) -> None:
        raise AssertionError("dateparser called")

    monkeypatch.setattr(dateparser.search, "search_dates", explode)
    assert find_window("Who is the president of France?", AS_OF) is None
    assert find_window("Which 3 players scored the most goals?", AS_OF) is None
    with pytest.raises(AssertionError, match="dateparser called"):
        find_window("What happened in March 2023?", AS_OF)  # the patch is the one used


def test_non_utc_as_of() -> None:
    # 22:00 at -04:00 on 16 June is 02:00 UTC on 17 June.
    as_of = datetime(2022, 6, 16, 22, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert find_window("What happened today?", as_of) == TimeWindow(
        d(2022, 6, 17), d(2022, 6, 18), "today", "day"
    )
    assert find_window("What happened yesterday?", as_of) == TimeWindow(
        d(2022, 6, 16), d(2022, 6, 17), "yesterday", "day"
    )
    window = find_window("What happened this week?", as_of)
    assert window is not None and window.start.tzinfo == UTC
    assert (window.start, window.end) == (d(2022, 6, 13), d(2022, 6, 20))


def test_naive_as_of_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        find_window("What happened today?", datetime(2022, 6, 16))


def test_news_quiz_this_week() -> None:
    question = (
        "A bipartisan group of senators announced an agreement on gun safety legislation this"
        " week. Who led the negotiations?"
    )
    assert find_window(question, AS_OF) == TimeWindow(
        d(2022, 6, 13), d(2022, 6, 20), "this week", "week"
    )


def test_month_end_as_of() -> None:
    # as_of on 31 March: "in February" must not overflow to 31 February.
    as_of = datetime(2022, 3, 31, 12, tzinfo=UTC)
    assert find_window("What happened in February?", as_of) == TimeWindow(
        d(2022, 2, 1), d(2022, 3, 1), "in February", "month"
    )
    assert find_window("What happened last month?", as_of) == TimeWindow(
        d(2022, 2, 1), d(2022, 3, 1), "last month", "month"
    )
