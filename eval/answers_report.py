"""Answer metrics from predictions, the abstention-threshold sweep, and the written report."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.answers import Prediction
from service.answering.short import question_type
from service.generation.verify import MARKER

logger = logging.getLogger(__name__)

#: Thresholds the calibration sweep tries: 0.00, 0.01, ..., 0.80.
THRESHOLDS = tuple(round(i / 100, 2) for i in range(81))


def _words(text: str | None) -> int:
    """Words of an answer, its ``[n]`` markers (as the verifier reads them) not counted."""
    return len(MARKER.sub(" ", text or "").split())


def _mean(values: Sequence[float | bool]) -> float | None:
    return sum(values) / len(values) if values else None


def squad_metrics(predictions: Sequence[Prediction], v2: bool) -> dict[str, Any]:
    """sentence_accuracy, exact_match and f1 (0-100), and for v2.0 the has/no-answer rates."""
    values: dict[str, Any] = {
        "questions": len(predictions),
        "sentence_accuracy": _mean([p.hit for p in predictions if not p.impossible]),
        "exact_match": 100 * (_mean([p.exact_match for p in predictions]) or 0.0),
        "f1": 100 * (_mean([p.f1 for p in predictions]) or 0.0),
        "abstain_rate": _mean([not p.answered for p in predictions]),
        "short_answer_rate": _mean([p.short_answer is not None for p in predictions]),
        # SQuAD-normalised exact match and F1 of the short answer against the right choice.
        "short_answer_em": 100 * (_mean([p.exact_match for p in predictions]) or 0.0),
        "short_answer_f1": 100 * (_mean([p.f1 for p in predictions]) or 0.0),
        "two_sentence_rate": _mean([p.extra.get("citations", 0) > 1 for p in predictions]),
    }
    values["by_question_type"] = by_question_type(predictions)
    if v2:
        has = [p for p in predictions if not p.impossible]
        no = [p for p in predictions if p.impossible]
        values.update(
            hasans_questions=len(has),
            noans_questions=len(no),
            hasans_sentence_accuracy=_mean([p.hit for p in has]),
            hasans_answered_rate=_mean([p.answered for p in has]),
            noans_abstain_rate=_mean([not p.answered for p in no]),
            hasans_exact_match=100 * (_mean([p.exact_match for p in has]) or 0.0),
            hasans_f1=100 * (_mean([p.f1 for p in has]) or 0.0),
        )
    return values


def by_question_type(predictions: Sequence[Prediction]) -> dict[str, dict[str, float]]:
    """Answerable questions per short-answer type (``none``: why/how, no short answer sought):
    share, sentence accuracy, EM and F1, and EM among the questions whose sentence was right."""
    groups: dict[str, list[Prediction]] = {}
    for p in predictions:
        if not p.impossible:
            groups.setdefault(question_type(p.question) or "none", []).append(p)
    total = sum(len(g) for g in groups.values())
    table = {}
    for kind, group in sorted(groups.items(), key=lambda item: -len(item[1])):
        right = [p for p in group if p.hit]
        table[kind] = {
            "share": len(group) / total,
            "sentence_accuracy": _mean([p.hit for p in group]) or 0.0,
            "exact_match": 100 * (_mean([p.exact_match for p in group]) or 0.0),
            "f1": 100 * (_mean([p.f1 for p in group]) or 0.0),
            "exact_match_right_sentence": 100 * (_mean([p.exact_match for p in right]) or 0.0),
        }
    return table


def news_metrics(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """answer_containment and abstain_rate over every question; citation_relevant_rate over the
    answered ones; answer_containment_relevant: contains the answer AND cites a relevant article."""
    answered = [p for p in predictions if p.answered]
    return {
        "questions": len(predictions),
        "answer_containment": _mean([p.hit for p in predictions]),
        "citation_relevant_rate": _mean([bool(p.relevant_citation) for p in answered]),
        "answer_containment_relevant": _mean(
            [p.hit and bool(p.relevant_citation) for p in predictions]
        ),
        "abstain_rate": _mean([not p.answered for p in predictions]),
        "short_answer_rate": _mean([p.short_answer is not None for p in predictions]),
        # SQuAD-normalised exact match and F1 of the short answer against the right choice.
        "short_answer_em": 100 * (_mean([p.exact_match for p in predictions]) or 0.0),
        "short_answer_f1": 100 * (_mean([p.f1 for p in predictions]) or 0.0),
        # How much an answered question gives to read: containment grows with it.
        "citations_per_answer": _mean([p.extra.get("citations", 0) for p in answered]),
        "words_per_answer": _mean([_words(p.extra.get("answer")) for p in answered]),
        # Share of the answers whose text a generator wrote (verified), not the extractive one.
        "generated_rate": _mean([p.extra.get("generator", "none") != "none" for p in answered]),
    }


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    noans_abstain_rate: float
    hasans_answered_rate: float
    hasans_sentence_accuracy: float

    @property
    def objective(self) -> float:
        """Balanced: abstaining on unanswerable questions and answering answerable ones with a
        right sentence weigh the same."""
        return (self.noans_abstain_rate + self.hasans_sentence_accuracy) / 2


def sweep(predictions: Sequence[Prediction]) -> list[SweepPoint]:
    """Each threshold applied to predictions made with no abstention (every score kept)."""
    has = [p for p in predictions if not p.impossible and p.score is not None]
    no = [p for p in predictions if p.impossible and p.score is not None]
    if not has or not no:
        raise ValueError("calibration needs answerable and unanswerable questions (SQuAD v2.0)")
    points = []
    for t in THRESHOLDS:
        points.append(
            SweepPoint(
                threshold=t,
                noans_abstain_rate=sum(p.score < t for p in no if p.score is not None) / len(no),
                hasans_answered_rate=sum(p.score >= t for p in has if p.score is not None)
                / len(has),
                hasans_sentence_accuracy=sum(
                    p.hit and p.score >= t for p in has if p.score is not None
                )
                / len(has),
            )
        )
    return points


#: By default the threshold may cost at most this share of the answerable questions.
MIN_ANSWERED = 0.95


def best_threshold(
    points: Sequence[SweepPoint], min_answered: float | None = MIN_ANSWERED
) -> SweepPoint:
    """The threshold that abstains most on unanswerable questions while still answering at
    least ``min_answered`` of the answerable ones; with ``min_answered=None``, the best balanced
    objective. Ties go to the lowest threshold."""
    if min_answered is None:
        return max(points, key=lambda p: (round(p.objective, 6), -p.threshold))
    allowed = [p for p in points if p.hasans_answered_rate >= min_answered] or [points[0]]
    return max(allowed, key=lambda p: (round(p.noans_abstain_rate, 6), -p.threshold))


def default_out_dir(name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(".cache") / "eval-out" / f"answers-{name}-{stamp}"


def markdown(metrics: dict[str, Any], title: str) -> str:
    lines = [f"# {title}", "", "| metric | value |", "|---|---|"]
    for key, value in metrics.items():
        if isinstance(value, float):
            lines.append(f"| {key} | {value:.2f} |" if value > 1 else f"| {key} | {value:.3f} |")
        elif isinstance(value, int | str) or value is None:
            lines.append(f"| {key} | {value} |")
    types = metrics.get("by_question_type")
    if isinstance(types, dict) and types:
        lines += ["", "| question type | share | sentence acc | EM | F1 | EM, right sentence |"]
        lines.append("|---|---:|---:|---:|---:|---:|")
        for kind, v in types.items():
            lines.append(
                f"| {kind} | {v['share']:.3f} | {v['sentence_accuracy']:.3f} | "
                f"{v['exact_match']:.1f} | {v['f1']:.1f} | {v['exact_match_right_sentence']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def write_report(
    out: Path, metrics: dict[str, Any], predictions: Sequence[Prediction], title: str
) -> Path:
    """metrics.json, metrics.md and predictions.jsonl (one line per question) under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    (out / "metrics.md").write_text(markdown(metrics, title), encoding="utf-8")
    with (out / "predictions.jsonl").open("w", encoding="utf-8") as handle:
        for p in predictions:
            handle.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
    logger.info("wrote %s", out)
    return out
