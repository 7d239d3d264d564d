"""The learned sentence ranker: a logistic model over :data:`features.FEATURES`, stored as JSON.

It only orders the candidate sentences. Whether to answer at all stays with the linear score
and its calibrated abstention threshold, so a ranker never changes how often the service
abstains. ``cited train selector`` fits the model and writes the file with a record of its
data, commit and settings; the packaged one is ``service/answering/sentence_ranker.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer.errors import CitedError
from service.answering.features import FEATURES

logger = logging.getLogger(__name__)

#: The model ``CITED_SENTENCE_RANKER=packaged`` loads.
PACKAGED = Path(__file__).with_name("sentence_ranker.json")
FORMAT = "cited-sentence-ranker/1"


class RankerFileError(CitedError):
    """A sentence-ranker file is missing, malformed or built for other features."""


@dataclass(frozen=True)
class SentenceRanker:
    """``score = ((x - mean) / scale) @ coef + intercept`` per candidate row ``x``."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    features: tuple[str, ...] = FEATURES
    record: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.features != FEATURES:
            missing = sorted(set(FEATURES) - set(self.features))
            extra = sorted(set(self.features) - set(FEATURES))
            raise RankerFileError(
                f"sentence ranker features {list(self.features)} do not match this version's "
                f"{list(FEATURES)} (missing {missing}, unknown {extra}): retrain it with "
                "`cited train selector`"
            )
        for name in ("mean", "scale", "coef"):
            shape = getattr(self, name).shape
            if shape != (len(FEATURES),):
                raise RankerFileError(
                    f"sentence ranker {name} has shape {shape}, expected ({len(FEATURES)},)"
                )
        if not np.all(self.scale > 0):
            raise RankerFileError("sentence ranker scale values must all be > 0")

    def scores(self, rows: np.ndarray) -> np.ndarray:
        """One score per row (higher = more likely to hold the answer)."""
        standardised = (np.asarray(rows, dtype=np.float64) - self.mean) / self.scale
        return (standardised @ self.coef + self.intercept).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": list(self.features),
            "mean": [float(x) for x in self.mean],
            "scale": [float(x) for x in self.scale],
            "coef": [float(x) for x in self.coef],
            "intercept": float(self.intercept),
            "record": self.record,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path) -> SentenceRanker:
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise RankerFileError(f"sentence ranker file {path} does not exist") from exc
        except (OSError, ValueError) as exc:
            raise RankerFileError(f"sentence ranker file {path} is unreadable: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise RankerFileError(f"{path}: format {found!r}, expected {FORMAT!r}")
        try:
            return cls(
                mean=np.asarray(data["mean"], dtype=np.float64),
                scale=np.asarray(data["scale"], dtype=np.float64),
                coef=np.asarray(data["coef"], dtype=np.float64),
                intercept=float(data["intercept"]),
                features=tuple(data["features"]),
                record=dict(data.get("record") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RankerFileError(f"{path}: malformed sentence ranker ({exc!r})") from exc


def load_ranker(setting: str) -> SentenceRanker | None:
    """``CITED_SENTENCE_RANKER``: ``packaged`` (the committed model), ``none`` (the linear score
    alone), or the path of a file written by ``cited train selector``."""
    if setting == "none":
        return None
    path = PACKAGED if setting == "packaged" else Path(setting).expanduser()
    ranker = SentenceRanker.load(path)
    logger.info("sentence ranker %s (%s)", path, ranker.record.get("trained_on", "unrecorded"))
    return ranker
