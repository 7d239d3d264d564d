"""``python -m eval train-selector`` (= ``cited train selector``): the work behind it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cited.compose import Parts
from cited.config import Settings
from eval.answers_cli import git_commit
from eval.beir import EvalError, load_dataset
from eval.run import default_index_dir, prepare_index
from eval.train_examples import load_examples, save_examples
from eval.train_selector import (
    REGULARISATION,
    Example,
    cross_validate,
    describe,
    fit,
    news_examples,
)
from indexer.embedders.base import Embedder
from indexer.second_stage import SecondStage
from service.answering.ranker import SentenceRanker
from service.answering.sentences import SentenceSelector
from service.pipeline import Pipeline

logger = logging.getLogger(__name__)


def _news(
    folder: Path,
    index: Path | None,
    limit: int | None,
    settings: Settings,
    embedder: Embedder,
    second_stage: SecondStage | None,
) -> tuple[list[Example], dict[str, Any]]:
    dataset = load_dataset(folder)
    queries = [q for q in dataset.queries if q.answers][:limit]
    if not queries:
        raise EvalError(f"no question in {dataset.queries_path} has answers to train on")
    index_dir = index or default_index_dir(dataset)
    info = prepare_index(dataset, index_dir, embedder, settings, True, second_stage)
    # Only retrieval is used: the candidates are the plain selector's, whatever ranker is set.
    serving = settings.replace(index_dir=index_dir, sentence_ranker="none")
    pipeline = Pipeline.open(serving, embedder, None, second_stage)
    try:
        examples = news_examples(
            dataset,
            lambda question: pipeline.search(question, settings.answer.answer_passages),
            SentenceSelector(embedder, passages=settings.answer.answer_passages),
            queries,
        )
    finally:
        pipeline.close()
    source = {
        "kind": "news",
        "path": str(folder.resolve()),
        "questions": len(queries),
        "limit": limit,
        "index": str(index_dir),
        "index_version": info.version,
        "mode": settings.retrieval.mode,
        "reranker": settings.index.reranker,
    }
    return examples, source


def _collected(
    folder: Path,
    index: Path | None,
    limit: int | None,
    examples_dir: Path | None,
    settings: Settings,
    models: Callable[[], tuple[Embedder, SecondStage | None]],
) -> tuple[list[Example], dict[str, Any]]:
    """The examples of one source: read from ``examples_dir`` when collected before, else
    retrieved end to end (and saved there)."""
    cached = None if examples_dir is None else examples_dir / f"{folder.name}.npz"
    if cached is not None and cached.is_file():
        examples, source = load_examples(cached)
        if source.get("limit") != limit:
            raise EvalError(
                f"{cached} was collected with --limit {source.get('limit')}, not {limit}: "
                "name another --examples folder"
            )
        return examples, {**source, "examples_file": str(cached)}
    examples, source = _news(folder, index, limit, settings, *models())
    if cached is not None:
        save_examples(cached, examples, source)
    return examples, source


def _rate(hits: list[bool]) -> str:
    return f"{np.mean(hits):.3f}" if hits else "-"


def train_selector(
    news: list[Path],
    index: Path | None,
    limit: int | None,
    out: Path,
    regularisation: float = REGULARISATION,
    examples_dir: Path | None = None,
    *,
    parts: Parts,
) -> tuple[list[str], Path]:
    """Collect examples, cross-validate, fit on all of them and write ``out``; returns a report."""
    if not news:
        raise EvalError("nothing to train on: give --news DIR (questions with answers)")
    if index is not None and len(news) > 1:
        raise EvalError(f"--index names one index but {len(news)} --news folders were given")
    built = parts
    settings = built.settings

    def models() -> tuple[Embedder, SecondStage | None]:
        return built.embedder, built.second_stage

    examples: list[Example] = []
    sources: list[dict[str, Any]] = []
    per_source: list[tuple[str, list[Example]]] = []
    for folder in news:
        found, source = _collected(folder, index, limit, examples_dir, settings, models)
        examples += found
        sources.append(source)
        per_source.append((folder.name, found))
    lines = [
        "| training source | questions | with the answer among the candidates | "
        "top-1 holds it: linear score | top-1 holds it: ranker (out of fold) |",
        "|---|---:|---:|---:|---:|",
    ]
    validated = cross_validate(examples, regularisation=regularisation)
    for name, found in per_source:
        useful = [e for e in found if e.useful]
        rates = [
            _rate([hits[e.id] for e in useful if e.id in hits])
            for hits in (validated["linear"], validated["ranker"])
        ]
        lines.append(f"| {name} | {len(found)} | {len(useful)} | {rates[0]} | {rates[1]} |")
    fitted = fit(examples, regularisation)
    ranker = SentenceRanker(
        fitted.mean,
        fitted.scale,
        fitted.coef,
        fitted.intercept,
        record={
            "trained_on": ", ".join(name for name, _ in per_source),
            "sources": sources,
            "commit": git_commit(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "model": settings.index.model,
            "answer_passages": settings.answer.answer_passages,
            "regularisation": regularisation,
            "examples": len(examples),
            "useful": sum(e.useful for e in examples),
            "cross_validation": lines,
        },
    )
    ranker.save(out)
    return [*lines, "", *describe(ranker)], out
