""" "As of" through the API, the CLI and eval: a later article is never returned or cited, and
every response says which time it used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cited.cli import app
from cited.compose import Parts
from cited.config import Settings
from eval.beir import load_dataset
from eval.run import run_eval
from indexer.build import build_index
from service.app import create_app
from tests.fakes import HashingEmbedder

RECORDS = [
    ("before", "Mayor opens bridge", "Mayor Jo Park opened the new river bridge on Monday.",
     "2022-06-13"),
    ("after", "Mayor closes bridge", "Mayor Jo Park closed the new river bridge for repairs.",
     "2022-06-20"),
]  # fmt: skip
QUESTION = "Who opened the new river bridge?"


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dated")
    lines = [
        json.dumps({"_id": i, "title": t, "text": x, "publish_date": d}) for i, t, x, d in RECORDS
    ]
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    queries = [
        {"_id": "q1", "text": QUESTION, "question_date": "2022/06/16", "answers": ["Jo Park"]}
    ]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tbefore\t1\n")
    build_index([folder / "corpus.jsonl"], folder / "index", HashingEmbedder(), progress=False)
    return folder


@pytest.fixture(scope="module")
def client(dated: Path) -> Iterator[TestClient]:
    settings = Settings.of(index_dir=dated / "index", abstain_threshold=-1.0)
    with TestClient(create_app(settings, embedder=HashingEmbedder())) as test_client:
        yield test_client


def test_search_as_of_never_returns_a_later_article(client: TestClient) -> None:
    body = client.post("/search", json={"query": QUESTION, "k": 5, "as_of": "2022-06-16"}).json()
    assert [r["article_id"] for r in body["results"]] == ["before"]
    assert body["results"][0]["published"] == "2022-06-13"
    time = body["time"]
    assert time["as_of"] == "2022-06-16T23:59:59+00:00" and time["as_of_given"] == "2022-06-16"
    assert time["freshness"]["shape"] == "exp" and time["window"] is None
    now = client.post("/search", json={"query": QUESTION, "k": 5}).json()
    assert {r["article_id"] for r in now["results"]} == {"before", "after"}
    assert now["time"]["as_of_given"] is None


@pytest.mark.parametrize("route", ["/ask", "/ask/stream"])
def test_ask_as_of_cites_only_earlier_articles_with_their_dates(
    client: TestClient, route: str
) -> None:
    response = client.post(route, json={"question": QUESTION, "as_of": "2022-06-16T12:00Z"})
    assert response.status_code == 200
    if route == "/ask":
        body = response.json()
    else:
        event = response.text.split("event: answer\ndata: ")[1].split("\n")[0]
        body = json.loads(event)
    assert body["citations"], body
    assert {c["article_id"] for c in body["citations"]} == {"before"}
    assert {c["published"] for c in body["citations"]} == {"2022-06-13"}
    assert {p["article_id"] for p in body["passages"]} == {"before"}
    assert body["time"]["as_of"] == "2022-06-16T12:00:00+00:00"


@pytest.mark.parametrize("bad", ["16/06/2022", "yesterday", "2022-13-01", "x" * 41])
def test_a_bad_as_of_is_a_422_naming_it(client: TestClient, bad: str) -> None:
    response = client.post("/search", json={"query": QUESTION, "as_of": bad})
    assert response.status_code == 422
    assert "as_of" in json.dumps(response.json()["detail"])


def test_the_cli_asks_as_of(dated: Path) -> None:
    parts = Parts(Settings.of(index_dir=dated / "index"), embedder=HashingEmbedder())
    done = CliRunner().invoke(app, ["search", QUESTION, "--as-of", "2022-06-16"], obj=parts)
    assert done.exit_code == 0, done.output
    assert "as of 2022-06-16T23:59:59+00:00" in done.stdout
    assert "Mayor opens bridge" in done.stdout and "Mayor closes bridge" not in done.stdout
    bad = CliRunner().invoke(app, ["search", QUESTION, "--as-of", "June"], obj=parts)
    assert bad.exit_code == 2 and "is not an ISO date" in bad.output


def test_eval_asks_each_query_as_of_its_date(dated: Path) -> None:
    dataset = load_dataset(dated)
    settings = Settings.of(index_dir=dated / "index")
    index_dir = dated / "index"
    result = run_eval(
        dataset, HashingEmbedder(), configs=["bm25"], index_dir=index_dir, settings=settings,
        progress=False,
    )  # fmt: skip
    assert result.dated_queries == 1
    assert [d for d, _ in result.configs[0].run["q1"]] == ["before"]
    ignored = run_eval(
        dataset, HashingEmbedder(), configs=["bm25"], index_dir=index_dir, settings=settings,
        progress=False, use_dates=False,
    )  # fmt: skip
    assert ignored.dated_queries == 0
    assert {d for d, _ in ignored.configs[0].run["q1"]} == {"before", "after"}


def test_tune_freshness_fits_over_the_services_candidates(dated: Path, tmp_path: Path) -> None:
    from eval.tune_freshness import collect, grid, tune, write

    dataset = load_dataset(dated)
    parts = Parts(Settings.of(index_dir=dated / "index"), embedder=HashingEmbedder())
    pipeline = parts.pipeline(parts.open_index(dated / "index"), generator=False)
    try:
        candidates = collect(pipeline, dataset, progress=False)
        tried = grid(shapes=["gauss", "exp"], scales=[1.0, 7.0], offsets=[0.0], weights=[0, 0.5])
        points = tune(pipeline, candidates, dataset.qrels, progress=False, points_to_try=tried)
    finally:
        pipeline.close()
    # The later article is cut as of the question's date: every point ranks "before" first.
    assert [c.query_id for c in candidates] == ["q1"]
    assert len(points) == len(tried) == 2 + 2 * 2 * 2
    assert all(p.ndcg10 == 1.0 for p in points)
    assert points[0].weight == 0.0  # ties: the smaller weight first
    folder = write(tmp_path / "tune", points, {"data": str(dated)})
    record = json.loads((folder / "tune.json").read_text())
    assert record["best"]["weight"] == 0.0 and len(record["grid"]) == len(points)
    assert (folder / "tune.md").is_file() and (folder / "tune.png").stat().st_size > 0
