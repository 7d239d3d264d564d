"""The benchmark's parts (the full run is `cited bench`, never a timed test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cited.config import Settings
from eval.bench import BenchSize, run_bench
from eval.bench_http import percentile, repeated, routes
from eval.bench_indexing import chunk_texts, measure_indexing
from eval.bench_report import write_report
from indexer.embedders.base import Embedder, TextEncoder
from indexer.second_stage import StoredVectorSecondStage
from indexer.types import Article
from tests.fakes import HashingEmbedder


def articles(n: int) -> list[Article]:
    return [
        Article(
            id=f"a{i}",
            title=f"Story {i}",
            text=" ".join(f"Sentence {j} of story {i} tells of harbours." for j in range(12)),
        )
        for i in range(n)
    ]


def test_indexing_is_measured_against_the_raw_encode_of_the_same_texts() -> None:
    embedder = HashingEmbedder()
    sample = articles(6)
    result = measure_indexing(embedder, sample)
    assert result.chunks == len(chunk_texts(sample, embedder)) > len(sample)
    assert result.raw_encode_chunks_per_s > 0 and result.index_chunks_per_s > 0
    assert result.ratio == result.index_chunks_per_s / result.raw_encode_chunks_per_s
    assert result.peak_rss_mb > 10


def test_repeated_copies_get_distinct_ids_and_the_same_text() -> None:
    copies = repeated(articles(3), 3)
    assert [a.id for a in copies[3:6]] == ["a0~2", "a1~2", "a2~2"]
    assert len({a.id for a in copies}) == 9 and copies[7].text == copies[1].text


def test_percentile_by_hand() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.5) == 51.0  # index round(49.5) = 50 (half to even)
    assert percentile(values, 0.99) == 99.0  # index round(98.01) = 98
    assert percentile([3.0], 0.99) == 3.0


def test_report_tables_and_plot(tmp_path: Path) -> None:
    run = {
        "route": "/search",
        "mode": "hybrid",
        "clients": 1,
        "requests": 3,
        "p50_ms": 12.5,
        "p95_ms": 20.0,
        "p99_ms": 21.0,
        "throughput_rps": 70.0,
        "stages_p50_ms": {"embed_query": 8.0, "dense": 2.0},
    }
    row = {
        "articles": 5,
        "chunks": 40,
        "raw_encode_chunks_per_s": 30.0,
        "index_chunks_per_s": 28.5,
        "index_articles_per_s": 3.6,
        "index_encode_ratio": 0.95,
        "peak_rss_mb": 900.0,
    }
    ann = {
        "config": "hnsw",
        "n": 1000,
        "build_s": 1.0,
        "bytes_per_vector": 500.0,
        "recall_at_10": 0.97,
        "p50_ms": 1.2,
        "p99_ms": 2.0,
    }
    result = {
        "machine": {"cpu": "test cpu", "cores": 2, "load_average_at_start": [0.1, 0.1, 0.1]},
        "model": "test/hashing",
        "indexing": {"torch": row},
        "http_index": {"articles": 5, "chunks": 40, "copies": 1},
        "server_memory": {"rss_mb": 500.0},
        "http": [run, {**run, "clients": 8, "p50_ms": 30.0}],
        "chunks": 40,
        "ann": [ann],
        "ann_config": "hnsw",
    }
    write_report(result, tmp_path)
    text = (tmp_path / "bench.md").read_text()
    assert "| torch | 5 | 40 | 30.0 | 28.5 | 0.95 |" in text
    assert "| /search | hybrid | 8 | 3 | 30.0 |" in text
    assert "| hnsw (chosen) | 1000 |" in text
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_routes_measure_every_mode_and_ask_in_the_default() -> None:
    modes = ["dense", "bm25", "hybrid", "hybrid+rerank"]
    assert routes(modes, "hybrid+rerank") == [
        ("/search", "dense"),
        ("/search", "bm25"),
        ("/search", "hybrid"),
        ("/search", "hybrid+rerank"),
        ("/ask", "hybrid+rerank"),
    ]
    with pytest.raises(RuntimeError, match="hybrid\\+rerank"):
        routes(["dense", "bm25", "hybrid"], "hybrid+rerank")


TOPICS = ["harbour", "election", "vaccine", "storm", "railway", "museum", "orchestra", "harvest"]


def test_the_quick_bench_runs_end_to_end_in_every_mode_of_the_index(
    tmp_path: Path, real_embedder: Embedder, second_stage: TextEncoder
) -> None:
    """`cited bench` on a tiny news set, with the real models and a real server: it measures
    the default mode, whatever it is, and every mode the index can run."""
    news = tmp_path / "data" / "news_2022"
    news.mkdir(parents=True)
    with (news / "corpus.jsonl").open("w") as corpus, (news / "queries.jsonl").open("w") as qs:
        for i, topic in enumerate(TOPICS):
            text = (
                f"The {topic} report was published on Monday. Officials said the {topic} plan "
                f"would cost {i + 2} million pounds. Critics asked why it was delayed again."
            )
            corpus.write(json.dumps({"_id": f"n{i}", "title": f"{topic} news", "text": text}))
            corpus.write("\n")
            qs.write(json.dumps({"_id": f"q{i}", "text": f"What did the {topic} plan cost?"}))
            qs.write("\n")
    settings = Settings.of(data_dir=tmp_path / "data", index_dir=tmp_path / "unused")
    size = BenchSize(
        index_articles=4, copies=2, http_articles=None, per_run=2, ann_n=2000, onnx=False
    )
    out = tmp_path / "out"
    result = run_bench(
        settings,
        out,
        True,
        real_embedder,
        second_stage=StoredVectorSecondStage(second_stage),
        size=size,
        work=tmp_path / "work",
    )
    assert result["default_mode"] == settings.retrieval.mode
    assert set(result["modes"]) == {"dense", "bm25", "hybrid", "hybrid+rerank"}
    measured = {(run["route"], run["mode"], run["clients"]) for run in result["http"]}
    for clients in (1, 8):
        assert {("/search", mode, clients) for mode in result["modes"]} <= measured
        assert ("/ask", settings.retrieval.mode, clients) in measured
    assert all(run["errors"] == 0 and run["requests"] == 2 for run in result["http"])
    assert result["search_p50_ms"] > 0 and result["ask_p50_ms"] > 0
    assert result["http_index"]["articles"] == 16
    assert f"default mode {settings.retrieval.mode}" in (out / "bench.md").read_text()
    assert json.loads((out / "bench.json").read_text())["default_mode"] == settings.retrieval.mode


def test_streams_are_measured_with_the_server_memory_per_round(
    seed_index: Path, tmp_path: Path
) -> None:
    """A small run of `cited bench --streams` against a real server over the seed index."""
    from eval.bench_streams import StreamPlan, measure_streams, write_streams_report

    questions = ["Why is a meeting of the defence ministers unlikely?", "Who is Li Shangfu?"]
    plan = StreamPlan(streams=6, clients=2, rounds=2)
    result = measure_streams(seed_index, questions, plan, tmp_path / "server.log")
    assert [r["streams"] for r in result["rounds"]] == [3, 3]
    assert all(r["failed"] == 0 for r in result["rounds"])
    assert result["rss_before_mb"] > 50 and result["rss_peak_mb"] >= result["rss_before_mb"]
    assert len(result["samples"]) >= 3
    table = write_streams_report(result, tmp_path / "out")
    assert "| 2 | 3 | 0 |" in table
    assert (tmp_path / "out" / "streams.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="streams >= rounds"):
        StreamPlan(streams=1, clients=1, rounds=2)


def test_growth_per_round_is_the_slope_from_round_two_by_hand() -> None:
    from eval.bench_streams import growth_per_round

    def rounds(values: list[float]) -> list[dict[str, float]]:
        return [{"round": i + 1, "rss_after_mb": v} for i, v in enumerate(values)]

    assert growth_per_round(rounds([500, 110, 120, 130])) == 10.0  # round 1 (warm-up) left out
    # x 2..5 around 3.5, y around 120: (30 - 10 - 10 + 30) / (2.25 + 0.25 + 0.25 + 2.25) = 8
    assert growth_per_round(rounds([500, 100, 140, 100, 140])) == 8.0
    assert growth_per_round(rounds([300])) == 0.0
