"""The benchmark's parts (the full run is `cited bench`, never a timed test)."""

from __future__ import annotations

from pathlib import Path

from eval.bench_http import percentile, repeated
from eval.bench_indexing import chunk_texts, measure_indexing
from eval.bench_report import write_report
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
