"""SQuAD v1.1 / v2.0 JSON: articles, paragraphs and questions, and the article split.

v2.0 is recognised by its ``is_impossible`` fields. The split is by article, in file order: the
first half of the articles (rounded up) is ``calibration``, the rest ``report``, so that nothing
tuned on one half is ever reported on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eval.beir import EvalError

Split = Literal["all", "calibration", "report"]
SPLITS: tuple[str, ...] = ("all", "calibration", "report")


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    impossible: bool


@dataclass(frozen=True)
class SquadParagraph:
    id: str
    title: str
    context: str
    questions: tuple[SquadQuestion, ...]


@dataclass(frozen=True)
class SquadSet:
    path: Path
    version: str
    articles: list[list[SquadParagraph]]

    @property
    def is_v2(self) -> bool:
        return self.version == "2.0"


def is_squad_file(path: Path) -> bool:
    return path.is_file() and path.suffix == ".json"


def load_squad(path: Path) -> SquadSet:
    try:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        data: list[dict[str, Any]] = raw["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EvalError(f"{path} is not a SQuAD JSON file: {exc}") from exc
    articles: list[list[SquadParagraph]] = []
    v2 = False
    for a, article in enumerate(data):
        paragraphs = []
        for p, paragraph in enumerate(article["paragraphs"]):
            questions = []
            for qa in paragraph["qas"]:
                v2 = v2 or "is_impossible" in qa
                impossible = bool(qa.get("is_impossible", False))
                answers = () if impossible else tuple(x["text"] for x in qa["answers"])
                questions.append(SquadQuestion(qa["id"], qa["question"], answers, impossible))
            paragraphs.append(
                SquadParagraph(f"{a}-{p}", article["title"], paragraph["context"], tuple(questions))
            )
        articles.append(paragraphs)
    return SquadSet(path, "2.0" if v2 else "1.1", articles)


def split_articles(squad: SquadSet, split: str) -> list[list[SquadParagraph]]:
    """The articles of ``split``: the first half (rounded up), the second half, or all."""
    if split not in SPLITS:
        raise EvalError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    half = (len(squad.articles) + 1) // 2
    if split == "calibration":
        return squad.articles[:half]
    if split == "report":
        return squad.articles[half:]
    return squad.articles


def limited(articles: list[list[SquadParagraph]], limit: int | None) -> list[SquadParagraph]:
    """The paragraphs in order, cut so that at most ``limit`` questions are kept."""
    chosen: list[SquadParagraph] = []
    count = 0
    for paragraph in (p for article in articles for p in article):
        if limit is not None and count >= limit:
            break
        questions = paragraph.questions
        if limit is not None:
            questions = questions[: limit - count]
        chosen.append(SquadParagraph(paragraph.id, paragraph.title, paragraph.context, questions))
        count += len(questions)
    return chosen
