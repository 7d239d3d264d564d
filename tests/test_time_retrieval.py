"""Time in retrieval: the as-of cut, the freshness prior and the question's period, checked
against hand-computed oracles on a small dated index (fake embedder, real FAISS/SQLite/BM25)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cited.config import MODES, TimeSettings
from indexer.build import build_index
from indexer.index import Index, open_index
from service.retrieval import Passage, Retriever
from service.time.as_of import AsOf, InvalidAsOfError, parse_as_of
from service.time.freshness import Freshness
from tests.fakes import HashingEmbedder

# Every article is about the same storm, so every one matches every query below.
STORM = "Storm Ada flooded the harbour town and closed the coast road."
RECORDS = [
    ("old", "Storm Ada, a look back", STORM + " Archive.", "2021-03-01"),
    ("week", "Storm Ada hits", STORM + " Monday.", "2022-06-13"),
    ("day", "Storm Ada clean-up", STORM + " Today.", "2022-06-16"),
    ("next", "Storm Ada inquiry", STORM + " Inquiry.", "2022-06-17"),
    ("timed", "Storm Ada warning", STORM + " Warning.", "2022-06-16T20:00:00Z"),
    ("undated", "Storm Ada explainer", STORM + " Explainer.", None),
]
AS_OF = "2022-06-16"  # a Thursday; the end of that day, UTC
NO_WINDOW = "Storm Ada flooded harbour"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    folder = tmp_path_factory.mktemp("time")
    lines = [
        json.dumps({"_id": i, "title": t, "text": x, "publish_date": d}) for i, t, x, d in RECORDS
    ]
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n")
    build_index([folder / "news.jsonl"], folder / "index", HashingEmbedder(), progress=False)
    return open_index(folder / "index")


def retriever(index: Index, **time: Any) -> Retriever:
    return Retriever(index, HashingEmbedder(), mode="hybrid", time=TimeSettings(**time))


def ids(passages: list[Passage]) -> list[str]:
    return [p.article_id for p in passages]


@pytest.mark.parametrize("mode", [m for m in MODES if m != "hybrid+rerank"])
def test_nothing_published_after_as_of_is_retrieved(index: Index, mode: str) -> None:
    found = retriever(index).search(NO_WINDOW, 10, mode, as_of=parse_as_of(AS_OF))
    # "next" (17 June, day only: noon UTC) is after the end of 16 June plus 6 hours' slack;
    # "timed" (16 June 20:00 UTC) is inside the day.
    assert set(ids(found.passages)) == {"old", "week", "day", "timed", "undated"}
    earlier = retriever(index).search(NO_WINDOW, 10, mode, as_of=parse_as_of("2022-06-14"))
    assert set(ids(earlier.passages)) == {"old", "week", "undated"}


def test_the_slack_is_hours_past_as_of(index: Index) -> None:
    at = parse_as_of("2022-06-16T13:00:00Z")
    assert "timed" not in ids(retriever(index).search(NO_WINDOW, 10, as_of=at).passages)
    wide = retriever(index, as_of_slack_hours=7.0).search(NO_WINDOW, 10, as_of=at)
    assert "timed" in ids(wide.passages)  # 13:00 + 7 h = 20:00, the article's time
    zero = retriever(index, as_of_slack_hours=0.0).search(NO_WINDOW, 10, as_of=at)
    assert "day" in ids(zero.passages)  # a day-only date is noon UTC: visible at 13:00
    early = retriever(index, as_of_slack_hours=0.0).search(
        NO_WINDOW, 10, as_of=parse_as_of("2022-06-16T11:00:00Z")
    )
    assert "day" not in ids(early.passages)


def test_freshness_factors_match_the_hand_computed_decay(index: Index) -> None:
    """bm25 scores times 1 - w + w * gauss(age): ages from the end of 16 June (UTC)."""
    as_of = parse_as_of(AS_OF)
    plain = retriever(index, freshness_weight=0.0).search(NO_WINDOW, 10, "bm25", as_of=as_of)
    prior = {"freshness_shape": "gauss", "freshness_scale_days": 14.0, "freshness_weight": 0.8}
    fresh = retriever(index, freshness_offset_days=0.0, **prior).search(
        NO_WINDOW, 10, "bm25", as_of=as_of
    )
    bm25 = {p.article_id: p.score for p in plain.passages}
    end = datetime(2022, 6, 16, 23, 59, 59, 999999, tzinfo=UTC)
    noon = {  # day-only dates stand for noon UTC
        "old": datetime(2021, 3, 1, 12, tzinfo=UTC),
        "week": datetime(2022, 6, 13, 12, tzinfo=UTC),
        "day": datetime(2022, 6, 16, 12, tzinfo=UTC),
        "timed": datetime(2022, 6, 16, 20, tzinfo=UTC),
    }
    sigma2 = -(14.0**2) / (2 * math.log(0.5))
    factor = {
        doc: 0.2 + 0.8 * math.exp(-(((end - t).total_seconds() / 86400) ** 2) / (2 * sigma2))
        for doc, t in noon.items()
    }
    factor["undated"] = sum(factor.values()) / len(factor)  # neutral: the dated mean
    for p in fresh.passages:
        assert p.freshness == pytest.approx(factor[p.article_id], rel=1e-9)
        assert p.score == pytest.approx(bm25[p.article_id] * factor[p.article_id], rel=1e-9)
    scores = [p.score for p in fresh.passages]
    assert scores == sorted(scores, reverse=True)
    assert ids(fresh.passages)[-1] == "old"


def test_unknown_dates_are_neutral_and_an_undated_collection_does_not_move(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps({"_id": i, "title": t, "text": x}) for i, t, x, _ in RECORDS
    ]  # no dates at all
    (tmp_path / "news.jsonl").write_text("\n".join(lines) + "\n")
    build_index([tmp_path / "news.jsonl"], tmp_path / "index", HashingEmbedder(), progress=False)
    undated = open_index(tmp_path / "index")
    try:
        for mode in ("dense", "bm25", "hybrid"):
            for question in (NO_WINDOW, "What did Storm Ada do in 2009?"):
                off = retriever(undated, freshness_weight=0.0).search(question, 10, mode)
                on = retriever(undated).search(question, 10, mode, as_of=parse_as_of(AS_OF))
                assert [(p.chunk_id, p.score) for p in on.passages] == [
                    (p.chunk_id, p.score) for p in off.passages
                ]
    finally:
        undated.close()


def test_a_period_in_the_question_moves_the_prior(index: Index) -> None:
    """ "in 2021" asked in 2022: the 2021 article is inside the period (factor 1), not aged."""
    found = retriever(index).search(
        "Storm Ada flooded harbour in 2021", 10, "bm25", as_of=parse_as_of(AS_OF)
    )
    assert found.time is not None and found.time.window is not None
    assert found.time.window.text == "in 2021"
    assert found.passages[0].article_id == "old"
    assert found.passages[0].freshness == 1.0
    described = found.time.describe()
    assert described["window"]["start"] == "2021-01-01T00:00:00+00:00"
    assert described["as_of"] == "2022-06-16T23:59:59+00:00"
    assert described["as_of_given"] == AS_OF
    off = retriever(index, time_expressions=False).search(
        "Storm Ada flooded harbour in 2021", 10, "bm25", as_of=parse_as_of(AS_OF)
    )
    assert off.time is not None and off.time.window is None
    assert ids(off.passages)[-1] == "old"


def test_as_of_now_cuts_nothing(index: Index) -> None:
    found = retriever(index).search(NO_WINDOW, 10, "bm25")
    assert len(found.passages) == len(RECORDS)
    assert found.time is not None and found.time.as_of.given is None


@pytest.mark.parametrize("shape", ["gauss", "exp", "linear"])
def test_every_shape_is_decay_at_offset_plus_scale(shape: str) -> None:
    prior = Freshness(shape=shape, scale_days=10.0, offset_days=2.0, decay=0.3, weight=1.0)
    values = prior.curve(np.array([0.0, 2.0, 12.0]))
    assert values == pytest.approx([1.0, 1.0, 0.3])


def test_as_of_parsing() -> None:
    assert parse_as_of("2022-06-16").instant == datetime(2022, 6, 16, 23, 59, 59, 999999, UTC)
    assert parse_as_of("2022-06-16T09:00-04:00").instant == datetime(2022, 6, 16, 13, tzinfo=UTC)
    assert parse_as_of("2022-06-16T09:00").instant == datetime(2022, 6, 16, 9, tzinfo=UTC)
    assert isinstance(parse_as_of(None), AsOf)
    with pytest.raises(InvalidAsOfError, match="'16/06/2022' is not an ISO date"):
        parse_as_of("16/06/2022")


def test_a_period_that_holds_as_of_leaves_the_prior_on_as_of(index: Index) -> None:
    """ "this week" asks for what is recent: the prior stays centred on as_of (it is reported)."""
    as_of = parse_as_of(AS_OF)
    question = "Storm Ada flooded harbour this week"
    found = retriever(index).search(question, 10, "bm25", as_of=as_of)
    plain = retriever(index, time_expressions=False).search(question, 10, "bm25", as_of=as_of)
    assert found.time is not None and found.time.window is not None
    assert found.time.window.text == "this week" and not found.time.moves_prior
    assert found.time.describe()["window"]["moves_prior"] is False
    assert [(p.chunk_id, p.score) for p in found.passages] == [
        (p.chunk_id, p.score) for p in plain.passages
    ]
