"""``python -m eval answers`` and ``python -m eval calibrate-abstention``: the work behind them."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

from cited.compose import Parts
from cited.config import Settings
from eval.answers import run_news, run_squad
from eval.answers_report import (
    MIN_ANSWERED,
    best_threshold,
    default_out_dir,
    news_metrics,
    squad_metrics,
    sweep,
    write_report,
)
from eval.beir import EvalError, load_dataset
from eval.run import default_index_dir, prepare_index, select_queries
from eval.squad import limited, load_squad, split_articles
from service.answering.ranker import SentenceRanker
from service.answering.sentences import SelectorWeights

logger = logging.getLogger(__name__)


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, check=False, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit() -> str | None:
    """HEAD, with ``+dirty`` when the working tree has uncommitted changes."""
    head = _git("rev-parse", "HEAD")
    if head and _git("status", "--porcelain", "--untracked-files=no"):
        return f"{head}+dirty"
    return head


def _record(data: Path, settings: Settings, **more: Any) -> dict[str, Any]:
    return {
        "data": str(data),
        "commit": git_commit(),
        "model": settings.index.model,
        "abstain_threshold": settings.answer.abstain_threshold,
        "sentence_ranker": settings.answer.sentence_ranker,
        **more,
    }


def trained_on(ranker: SentenceRanker | None, data: Path) -> bool:
    """Was ``ranker`` fitted on the BEIR set ``data``? Such a result measures memory, not the
    ranker: the run says so in its record and log."""
    if ranker is None:
        return False
    target = str(data.resolve())
    if any(s.get("path") == target for s in ranker.record.get("sources", [])):
        logger.warning(
            "the sentence ranker was trained on %s: these numbers are not held out", data
        )
        return True
    return False


def parse_weights(text: str | None) -> SelectorWeights | None:
    """``"0.45,0.40,0.15"``: similarity, lexical and passage weights of the sentence score."""
    if not text:
        return None
    try:
        similarity, lexical, passage = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise EvalError(f"--weights {text!r}: expected three numbers, e.g. 0.45,0.40,0.15") from exc
    return SelectorWeights(similarity=similarity, lexical=lexical, passage=passage)


def answers(
    data: Path,
    qrels: Path | None,
    limit: int | None,
    out: Path | None,
    split: str,
    threshold: float | None,
    index: Path | None,
    weights: str | None = None,
    *,
    parts: Parts,
    use_dates: bool = True,
) -> tuple[dict[str, Any], Path]:
    """Evaluate answers on a SQuAD JSON file or a BEIR folder; returns (metrics, out folder)."""
    if threshold is not None:
        parts = parts.replace(abstain_threshold=threshold)
    settings = parts.settings
    embedder = parts.embedder
    ranker = parts.ranker
    if data.is_file():
        squad = load_squad(data)
        paragraphs = limited(split_articles(squad, split), limit)
        logger.info("SQuAD v%s %s split: %d paragraphs", squad.version, split, len(paragraphs))
        chosen = parse_weights(weights) or SelectorWeights()
        predictions = run_squad(
            paragraphs,
            embedder,
            threshold=settings.answer.abstain_threshold,
            weights=chosen,
            ranker=ranker,
        )
        metrics = squad_metrics(predictions, squad.is_v2)
        name = f"squad-v{squad.version}-{split}"
        metrics["run"] = _record(
            data,
            settings,
            split=split,
            limit=limit,
            version=squad.version,
            weights=vars(chosen),
        )
    else:
        dataset = load_dataset(data, qrels=qrels)
        queries = select_queries(dataset, limit)
        index_dir = index or default_index_dir(dataset)
        info = prepare_index(dataset, index_dir, embedder, settings, True, parts.second_stage)
        # The generator the settings select (CITED_GENERATOR), as the service would run it.
        pipeline = parts.pipeline(parts.open_index(index_dir))
        try:
            predictions = run_news(dataset, pipeline, queries, use_dates=use_dates)
        finally:
            pipeline.close()
        metrics = news_metrics(predictions)
        name = dataset.name
        metrics["run"] = _record(
            data,
            settings,
            qrels=str(dataset.qrels_path),
            limit=limit,
            index=str(index_dir),
            index_version=info.version,
            mode=settings.retrieval.mode,
            generator=settings.generator.kind,
            dates_used=use_dates,
            queries_dated=sum(1 for q in queries if q.as_of) if use_dates else 0,
            time_settings=settings.time.model_dump(),
            ranker_trained_on_this=trained_on(ranker, data),
        )
    folder = write_report(out or default_out_dir(name), metrics, predictions, f"answers: {name}")
    return metrics, folder


def calibrate(
    data: Path,
    split: str,
    limit: int | None,
    out: Path | None,
    min_answered: float | None = MIN_ANSWERED,
    *,
    parts: Parts,
) -> tuple[list[str], float, Path]:
    """Sweep the abstention threshold on a SQuAD v2.0 split; returns (table, best, folder)."""
    settings = parts.settings
    squad = load_squad(data)
    if not squad.is_v2:
        raise EvalError(f"{data} has no unanswerable questions: calibration needs SQuAD v2.0")
    paragraphs = limited(split_articles(squad, split), limit)
    predictions = run_squad(
        paragraphs,
        parts.embedder,
        threshold=-1.0,
        ranker=parts.ranker,
    )
    points = sweep(predictions)
    best = best_threshold(points, min_answered)
    balanced = best_threshold(points, None)
    lines = ["| threshold | noans abstain | hasans answered | hasans sentence acc | objective |"]
    lines.append("|---|---|---|---|---|")
    for p in points:
        mark = " **best**" if p is best else ""
        lines.append(
            f"| {p.threshold:.2f}{mark} | {p.noans_abstain_rate:.3f} | "
            f"{p.hasans_answered_rate:.3f} | {p.hasans_sentence_accuracy:.3f} | "
            f"{p.objective:.3f} |"
        )
    folder = out or default_out_dir(f"calibration-{split}")
    folder.mkdir(parents=True, exist_ok=True)
    record = _record(data, settings, split=split, limit=limit, questions=len(predictions))
    record["best"] = best.threshold
    record["rule"] = (
        f"highest noans_abstain_rate with hasans_answered_rate >= {min_answered}"
        if min_answered is not None
        else "best (noans_abstain_rate + hasans_sentence_accuracy) / 2"
    )
    record["balanced_best"] = balanced.threshold
    record["points"] = [vars(p) for p in points]
    (folder / "calibration.json").write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    (folder / "calibration.md").write_text("\n".join(lines) + "\n", "utf-8")
    return lines, best.threshold, folder
