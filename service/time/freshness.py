"""The freshness prior: a decay of each candidate's age, multiplied into its score.

Shapes, scale, offset and decay are those of Elasticsearch's ``function_score`` decay functions
(with ``distance = max(0, age - offset)``):

- ``gauss``: ``exp(-distance**2 / (2 * sigma**2))``, ``sigma**2 = -scale**2 / (2 * ln(decay))``
- ``exp``: ``exp(ln(decay) / scale * distance)``
- ``linear``: ``max(0, (s - distance) / s)``, ``s = scale / (1 - decay)``

so every shape equals ``decay`` at ``offset + scale`` days. A candidate's score becomes
``score * (1 - weight + weight * decay(age))``. The age is counted from the as-of time, or, when
the question names a period (:mod:`service.time.window`), from that period: inside it the age is
0, outside it is the distance to its nearer edge, so a question about 2009 is not pushed
towards the as-of time. A candidate of unknown date gets the mean factor of the dated
candidates in the same ranking (1 when none is dated): neither a penalty nor a bonus, and a
collection without dates ranks exactly as without the prior.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cited.config import TimeSettings, default_of

DAY_S = 86400.0


@dataclass(frozen=True)
class Freshness:
    """One decay curve and its weight (:class:`~cited.config.TimeSettings`)."""

    shape: str = default_of(TimeSettings, "freshness_shape")
    scale_days: float = default_of(TimeSettings, "freshness_scale_days")
    offset_days: float = default_of(TimeSettings, "freshness_offset_days")
    decay: float = default_of(TimeSettings, "freshness_decay")
    weight: float = default_of(TimeSettings, "freshness_weight")

    @classmethod
    def of(cls, settings: TimeSettings) -> Freshness:
        return cls(
            shape=settings.freshness_shape,
            scale_days=settings.freshness_scale_days,
            offset_days=settings.freshness_offset_days,
            decay=settings.freshness_decay,
            weight=settings.freshness_weight,
        )

    @property
    def active(self) -> bool:
        return self.weight > 0.0

    def curve(self, age_days: np.ndarray) -> np.ndarray:
        """The decay (1 at or under the offset, ``decay`` at offset + scale) of ages in days."""
        distance = np.maximum(0.0, np.asarray(age_days, dtype=np.float64) - self.offset_days)
        if self.shape == "gauss":
            sigma2 = -(self.scale_days**2) / (2.0 * math.log(self.decay))
            return np.exp(-(distance**2) / (2.0 * sigma2))
        if self.shape == "exp":
            return np.exp(math.log(self.decay) / self.scale_days * distance)
        if self.shape == "linear":
            s = self.scale_days / (1.0 - self.decay)
            return np.maximum(0.0, (s - distance) / s)
        raise ValueError(f"unknown freshness shape {self.shape!r}; valid: gauss, exp, linear")

    def factors(
        self, times: np.ndarray, origin: float, window: tuple[float, float] | None = None
    ) -> np.ndarray:
        """Score factors of candidates published at ``times`` (seconds since the epoch, NaN
        unknown), aged from ``origin`` (the as-of time) or from ``window`` (start, end)."""
        times = np.asarray(times, dtype=np.float64)
        if window is None:
            age = np.maximum(0.0, origin - times)
        else:
            start, end = window
            age = np.where(times < start, start - times, np.maximum(0.0, times - end))
        known = ~np.isnan(times)
        factor = np.ones(len(times))
        factor[known] = 1.0 - self.weight + self.weight * self.curve(age[known] / DAY_S)
        if not known.all():
            factor[~known] = float(factor[known].mean()) if known.any() else 1.0
        return factor

    def describe(self) -> dict[str, float | str]:
        return {
            "shape": self.shape,
            "scale_days": self.scale_days,
            "offset_days": self.offset_days,
            "decay": self.decay,
            "weight": self.weight,
        }


def rescore(scores: np.ndarray, factors: np.ndarray, *, cosine: bool = False) -> np.ndarray:
    """Scores times their freshness factors; cosines (which may be negative) are shifted to
    ``1 + cosine`` first and back after, so a factor below 1 always lowers a score."""
    if cosine:
        return np.where(factors == 1.0, scores, (1.0 + scores) * factors - 1.0)
    return scores * factors
