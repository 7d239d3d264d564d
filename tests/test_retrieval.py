"""Retrieval modes, fusion, filters and duplicate collapsing, checked against exact oracles."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from cited.config import MODES, TimeSettings
from indexer.build import build_index
from indexer.filters import Filters
from indexer.index import Hit, Index, open_index
from service.retrieval import Retriever, UnknownModeError, fuse
from tests.fakes import HashingEmbedder

R1 = "The central bank raised interest rates again."
RECORDS = [
    ("r1", "Rates", R1, "2021-03-01", "Wire", ["Ann Lee"]),
    ("r2", "Rates copy", R1.replace(".", "!"), "2022-05-02", "Echo", ["Bo Chan"]),
    ("r3", "Harvest", "Farmers expect a record wheat harvest this summer.", "2022-07-09", "Wire",
     ["Ann Lee"]),
    ("r4", "Floods", "Floods closed roads and schools in the valley.", "2023-01-15", "Daily",
     ["Cy Diaz"]),
    ("r5", "Budget", "The finance minister presented the budget to parliament.", None, "Daily", []),
    ("r6", "Wheat prices", "Wheat prices fell as the harvest outlook improved.", "2023-08-20",
     "Echo", ["Bo Chan", "Ann Lee"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    folder = tmp_path_factory.mktemp("retrieval")
    lines = [
        json.dumps({"_id": i, "title": t, "text": x, "publish_date": d, "source": s, "authors": a})
        for i, t, x, d, s, a in RECORDS
    ]
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n")
    build_index([folder / "news.jsonl"], folder / "index", HashingEmbedder(), progress=False)
    return open_index(folder / "index")


@pytest.fixture(scope="module")
def retriever(index: Index) -> Retriever:
    # These oracles check the rankers alone: the freshness prior (tests/test_time_retrieval.py)
    # is off, as it would otherwise scale every score of these old articles "as of now".
    return Retriever(index, HashingEmbedder(), mode="hybrid", time=TimeSettings(freshness_weight=0))


def test_fusion_matches_hand_computed_rrf() -> None:
    # rrf_k = 60, weights 1 and 0.5:
    #   a: 1/61 + 0.5/62 = 0.016393 + 0.008065 = 0.024458
    #   b: 1/62 + 0.5/61 = 0.016129 + 0.008197 = 0.024326
    #   c: 0.5/63        = 0.007937
    dense = [Hit(1, 0.9), Hit(2, 0.8)]
    lexical = [Hit(2, 7.0), Hit(1, 5.0), Hit(3, 1.0)]
    fused = fuse([(1.0, dense), (0.5, lexical)], rrf_k=60)
    assert [h.chunk_id for h in fused] == [1, 2, 3]
    assert [h.score for h in fused] == pytest.approx([0.024458, 0.024326, 0.007937], abs=1e-6)


def test_bm25_ranks_by_term_matches(retriever: Retriever) -> None:
    result = retriever.search("wheat harvest", k=5, mode="bm25")
    assert {p.article_id for p in result.passages} == {"r3", "r6"}
    assert result.passages[0].article_id == "r3"  # both terms, shorter text
    assert retriever.search("zebra", k=5, mode="bm25").passages == []


def test_dense_is_exact_nearest_neighbour(retriever: Retriever, index: Index) -> None:
    query = "finance minister budget"
    result = retriever.search(query, k=3, mode="dense")
    ids = index.store.chunk_ids()
    oracle = dict(
        zip(ids, index.chunk_vectors(ids) @ HashingEmbedder().embed_query(query), strict=True)
    )
    scores = [p.score for p in result.passages]
    assert result.passages[0].article_id == "r5"
    assert scores == sorted(scores, reverse=True)
    for p in result.passages:
        assert p.score == pytest.approx(oracle[p.chunk_id], abs=1e-6) == p.similarity
    returned = {p.chunk_id for p in result.passages}
    assert all(s <= min(scores) + 1e-6 for i, s in oracle.items() if i not in returned)


def test_duplicates_collapse_to_the_best_ranked(retriever: Retriever) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        ids = [
            p.article_id for p in retriever.search("central bank interest rates", 5, mode).passages
        ]
        assert len({"r1", "r2"} & set(ids)) == 1, (mode, ids)


@pytest.mark.parametrize(
    ("filters", "allowed"),
    [
        (Filters(published_from=date(2022, 1, 1)), {"r2", "r3", "r4", "r6"}),
        (Filters(published_to=date(2022, 6, 30)), {"r1", "r2"}),
        (Filters(date(2022, 1, 1), date(2022, 12, 31)), {"r2", "r3"}),
        (Filters(source="wire"), {"r1", "r3"}),
        (Filters(author="ann"), {"r1", "r3", "r6"}),
        (Filters(source="Echo", author="Ann Lee"), {"r6"}),
        (Filters(source="Nobody"), set()),
    ],
)
def test_filters_apply_before_the_cut_off(
    retriever: Retriever, filters: Filters, allowed: set[str]
) -> None:
    for mode in ("dense", "hybrid"):
        # k=1 on a query about something else: the filtered article still comes back.
        found = retriever.search("floods closed schools", k=10, mode=mode, filters=filters)
        ids = {p.article_id for p in found.passages}
        assert ids <= allowed, mode
        # r1 and r2 are copies: one of them stands for both.
        assert {"r1" if a == "r2" else a for a in ids} == {
            "r1" if a == "r2" else a for a in allowed
        }
        if allowed:
            top = retriever.search("floods closed schools", k=1, mode=mode, filters=filters)
            assert len(top.passages) == 1 and top.passages[0].article_id in allowed


def test_filtered_bm25_keeps_only_allowed(retriever: Retriever) -> None:
    found = retriever.search("wheat harvest", k=1, mode="bm25", filters=Filters(source="Echo"))
    assert [p.article_id for p in found.passages] == ["r6"]


def test_modes_are_checked(retriever: Retriever) -> None:
    assert MODES == ("dense", "bm25", "hybrid", "hybrid+rerank")
    with pytest.raises(UnknownModeError, match="valid modes: dense, bm25, hybrid"):
        retriever.search("x", 3, mode="sparse")
    with pytest.raises(ValueError, match="after published_to"):
        Filters(published_from=date(2023, 1, 2), published_to=date(2023, 1, 1))


def test_passages_carry_metadata(retriever: Retriever) -> None:
    passage = retriever.search("wheat prices outlook", k=1, mode="bm25").passages[0]
    assert passage.article_id == "r6"
    assert passage.published == "2023-08-20" and passage.source == "Echo"
    assert passage.authors == ("Bo Chan", "Ann Lee")


def test_api_modes_and_filters(tmp_path: Path, index: Index) -> None:
    from fastapi.testclient import TestClient

    from cited.config import Settings
    from service.app import create_app

    app = create_app(Settings.of(index_dir=index.folder.parent.parent), embedder=HashingEmbedder())
    with TestClient(app) as client:
        body = client.post(
            "/search", json={"query": "wheat", "k": 5, "mode": "bm25", "source": "Echo"}
        ).json()
        assert body["mode"] == "bm25" and [r["article_id"] for r in body["results"]] == ["r6"]
        bad = client.post(
            "/search",
            json={"query": "wheat", "published_from": "2023-01-02", "published_to": "2022-01-01"},
        )
        assert bad.status_code == 422 and "after published_to" in bad.text
        assert client.post("/search", json={"query": "wheat", "mode": "magic"}).status_code == 422
        assert (
            client.post("/search", json={"query": "w", "published_from": "May"}).status_code == 422
        )
        rerank = client.post("/ask", json={"question": "wheat?", "mode": "hybrid+rerank"})
        assert rerank.status_code == 400 and "second-stage" in rerank.json()["detail"]
