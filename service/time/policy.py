"""What time does to one query: the as-of cut, the period the question names, and the
freshness prior over the ranked candidates (shared by the API, the CLI and eval)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from cited.config import TimeSettings
from service.time.as_of import AsOf
from service.time.freshness import Freshness, rescore
from service.time.window import TimeWindow, find_window

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimePlan:
    """The time applied to one query, as the response reports it."""

    as_of: AsOf
    #: Latest publication time (seconds since the epoch) a retrieved chunk may have.
    cutoff: float
    slack_hours: float
    freshness: Freshness
    window: TimeWindow | None = None

    @property
    def moves_prior(self) -> bool:
        """Whether the question's period moves the prior: only a period wholly before as_of
        ("yesterday", "last week", "in 2009"). One that holds as_of ("this week", "today") or
        lies after it asks for what is recent, which is what the prior centred on as_of
        already favours."""
        return self.window is not None and self.window.end.timestamp() <= self.as_of.timestamp

    def describe(self) -> dict[str, Any]:
        window = self.window
        return {
            "as_of": self.as_of.isoformat(),
            "as_of_given": self.as_of.given,
            "slack_hours": self.slack_hours,
            "window": None
            if window is None
            else {
                "start": window.start.isoformat(timespec="seconds"),
                "end": window.end.isoformat(timespec="seconds"),
                "text": window.text,
                "period": window.period,
                "moves_prior": self.moves_prior,
            },
            "freshness": self.freshness.describe(),
        }


class TimePolicy:
    """Plans and applies the time of queries under one :class:`~cited.config.TimeSettings`."""

    def __init__(self, settings: TimeSettings | None = None):
        self.settings = settings or TimeSettings()
        self.freshness = Freshness.of(self.settings)

    def plan(self, question: str, as_of: AsOf | None = None) -> TimePlan:
        as_of = as_of or AsOf.now()
        window = None
        if self.settings.time_expressions:
            try:
                window = find_window(question, as_of.instant)
            except Exception as exc:  # a period is optional: it never fails the query
                logger.warning("no time window for %r as of %s: %s", question, as_of.given, exc)
        slack = self.settings.as_of_slack_hours
        return TimePlan(as_of, as_of.cutoff(slack), slack, self.freshness, window)

    @staticmethod
    def visible_before(plan: TimePlan, latest: float) -> float | None:
        """The publication-time bound to filter by; None when no chunk is later (``latest``:
        the index's newest date), so the common "as of now" query cuts nothing."""
        return plan.cutoff if latest > plan.cutoff else None

    @staticmethod
    def rerank(
        plan: TimePlan,
        ids: list[int],
        scores: list[float],
        times: np.ndarray,
        *,
        cosine: bool = False,
    ) -> list[tuple[int, float, float]]:
        """``(chunk id, score, factor)`` re-ordered by the freshness prior (best first; ties
        keep their order); ``factor`` is what multiplied the score."""
        if not plan.freshness.active or not ids:
            return [(i, s, 1.0) for i, s in zip(ids, scores, strict=True)]
        window = plan.window
        span = (
            (window.start.timestamp(), window.end.timestamp())
            if window is not None and plan.moves_prior
            else None
        )
        factors = plan.freshness.factors(times, plan.as_of.timestamp, span)
        new = rescore(np.asarray(scores, dtype=np.float64), factors, cosine=cosine)
        order = sorted(range(len(ids)), key=lambda i: -new[i])  # stable
        return [(ids[i], float(new[i]), float(factors[i])) for i in order]
