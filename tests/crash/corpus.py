"""Synthetic articles and deterministic update operations: functions of (seed, operation
index) alone, so the parent knows the state before and after each one."""

from __future__ import annotations

import random
from dataclasses import dataclass

from indexer.types import Article
from indexer.update import UpdateOptions

#: Articles are ``(title, text)`` by id; an index state is the set of its live articles.
State = dict[str, tuple[str, str]]

SUBJECTS = (
    "The council",
    "Dr. Okafor",
    "The harbour authority",
    "A spokesperson for the U.N.",
    "Local farmers",
    "The railway company",
    "Museum staff",
    "The finance minister",
    "Residents of Millbrook",
    "Emergency crews",
    "The orchestra",
    "Teachers at St. Anne's school",
)
VERBS = (
    "announced",
    "criticised",
    "delayed",
    "approved",
    "investigated",
    "celebrated",
    "postponed",
    "reviewed",
    "questioned",
    "welcomed",
)
OBJECTS = (
    "the new budget",
    "plans for a bridge over the river",
    "the flood defences",
    "a vaccine programme",
    "the harvest festival",
    "rising ticket prices",
    "the winter tour",
    "a drought warning",
    "the school timetable",
    "repairs to the pier",
    "the storm damage report",
    "a museum extension",
)
TAILS = (
    "on Monday",
    "after a long debate",
    "despite objections from the parish",
    "at 9 a.m. on Friday",
    "for the third time this year",
    "with a budget of 4.5 million",
    "following last week's storm",
    "in a statement to reporters",
    "before the election",
    "",
)
ASIDES = (
    "Critics said the decision came too late.",
    "Nobody was hurt.",
    "The vote was close.",
    "A final report is expected in March.",
    "Officials declined to comment further.",
    "Some residents remain unconvinced!",
    "Will the money arrive in time?",
)


def _sentence(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return rng.choice(ASIDES)
    tail = rng.choice(TAILS)
    words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), tail]
    return " ".join(w for w in words if w) + "."


def article_content(seed: int, op: int, article_id: str) -> tuple[str, str]:
    """The ``(title, text)`` operation ``op`` gives ``article_id`` (op -1: the initial build)."""
    rng = random.Random(f"{seed}:{op}:{article_id}")
    title = f"{rng.choice(OBJECTS).capitalize()} ({article_id})"
    paragraphs = []
    for _ in range(rng.randint(1, 2)):
        paragraphs.append(" ".join(_sentence(rng) for _ in range(rng.randint(2, 5))))
    return title, "\n\n".join(paragraphs)


def pool_ids(articles: int) -> list[str]:
    """The ids operations draw from: the initial ones and as many again half over."""
    return [f"doc-{n:05d}" for n in range(articles * 3 // 2)]


def initial_state(seed: int, articles: int) -> State:
    return {i: article_content(seed, -1, i) for i in pool_ids(articles)[:articles]}


@dataclass(frozen=True)
class Op:
    """Upsert these articles (new ids or new texts), then delete these ids (disjoint)."""

    upserts: dict[str, tuple[str, str]]
    deletes: tuple[str, ...]


def make_op(seed: int, op: int, articles: int) -> Op:
    rng = random.Random(f"{seed}:op:{op}")
    chosen = rng.sample(pool_ids(articles), rng.randint(3, 7))
    split = rng.randint(2, len(chosen) - 1)
    upserts = {i: article_content(seed, op, i) for i in chosen[:split]}
    return Op(upserts, tuple(chosen[split:]))


def apply_op(state: State, op: Op) -> State:
    after = dict(state)
    after.update(op.upserts)
    for article_id in op.deletes:
        after.pop(article_id, None)
    return after


def to_articles(contents: dict[str, tuple[str, str]]) -> list[Article]:
    return [Article(id=i, title=t, text=x, source="crash") for i, (t, x) in contents.items()]


def update_options() -> UpdateOptions:
    return UpdateOptions(progress=False, grace_s=0, keep_versions=2, max_segments=4)
