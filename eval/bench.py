"""``cited bench`` / ``python -m eval bench``: indexing speed against the model's limit, query
latency over HTTP on a large index, and ANN at scale; a table, ``bench.json`` and a plot.

Every ratio is measured within one run on this machine (no absolute time is compared across
runs). The news sets in the data folder (``CITED_DATA_DIR``) provide articles and questions.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cited.config import Settings
from eval.beir import EvalError
from eval.bench_http import build_large_index, measure_http, repeated
from eval.bench_indexing import IndexingResult, measure_indexing
from indexer.build import options_from, read_articles
from indexer.embedders.base import Embedder
from indexer.second_stage import SecondStage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchSize:
    #: Articles indexed to compare the index's throughput with the raw model's.
    index_articles: int
    #: Copies of news_2022 (distinct ids) in the HTTP index, and how many of its articles.
    copies: int
    http_articles: int | None
    #: Requests per (route, mode, clients) run, each with questions no other run asked.
    per_run: int
    #: Vectors in the ANN study.
    ann_n: int
    #: Also measure the onnx-int8 backend's indexing (loads a second model).
    onnx: bool = True


SIZES = {
    "quick": BenchSize(150, 1, 400, 20, 100_000),
    "full": BenchSize(500, 6, 1500, 100, 1_000_000),
}
ANN_TARGET = {"recall_at_10": 0.95, "bytes_per_vector": 600}


def questions_in(data_dir: Path) -> list[str]:
    """The news questions of the data folder (news_2022 and news_2023), each once."""
    questions: list[str] = []
    for name in ("news_2022", "news_2023"):
        path = data_dir / name / "queries.jsonl"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    text = json.loads(line).get("text", "").strip()
                    if text:
                        questions.append(text)
    return list(dict.fromkeys(questions))


def machine() -> dict[str, Any]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in cpuinfo.read_text().splitlines()
                if ln.startswith("model name")
            ),
            "",
        )
    return {
        "cpu": cpu or platform.processor(),
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _onnx(settings: Settings) -> Embedder | None:
    try:
        from cited.compose import Parts

        return Parts(settings.replace(backend="onnx-int8")).embedder
    except Exception as exc:  # the fast backend is optional: report why it is missing
        logger.warning("onnx-int8 backend unavailable, onnx_speedup not measured: %s", exc)
        return None


def _ann(n: int, real: list[Path]) -> dict[str, Any]:
    """Exact search and the production ANN (IVF-SQ8) at each nprobe; the row reported is the
    production setting (``FaissAnnIndex``'s default nprobe)."""
    from eval.ann import run_ann_study
    from indexer.stores.faiss_ann import FaissAnnIndex

    with tempfile.TemporaryDirectory(prefix="cited-bench-ann-") as folder:
        unique = _unique_vectors(real, Path(folder))
        rows = run_ann_study(n=n, real=unique, queries=200, configs=["flat", "ivf-sq8"], seed=0)
    production = f"ivf-sq8 nprobe={FaissAnnIndex(384).nprobe}"
    chosen = next((r for r in rows if r["config"] == production), None)
    if chosen is None:  # a study without the production row: the best that meets the target
        fitting = [
            r
            for r in rows
            if r["recall_at_10"] >= ANN_TARGET["recall_at_10"]
            and r["bytes_per_vector"] <= ANN_TARGET["bytes_per_vector"]
        ]
        chosen = min(fitting or rows, key=lambda r: r["p50_ms"])
    return {"rows": rows, "chosen": chosen}


def run_bench(
    settings: Settings,
    out: Path,
    quick: bool,
    embedder: Embedder,
    *,
    second_stage: SecondStage | None = None,
    size: BenchSize | None = None,
    work: Path = Path(".cache/bench"),
) -> dict[str, Any]:
    """The benchmark at ``size`` (default: the quick or the full one), its index built in
    ``work`` as the settings say (with ``second_stage``, so every mode they allow runs)."""
    size = size or SIZES["quick" if quick else "full"]
    corpus = settings.index.data_dir / "news_2022" / "corpus.jsonl"
    if not corpus.is_file():
        raise EvalError(
            f"the benchmark reads news articles from {corpus}, which is absent: set "
            "CITED_DATA_DIR to the folder holding news_2022/"
        )
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "quick": quick, "model": embedder.name}
    articles = read_articles([corpus])

    # 1. Indexing against the raw model, then the fast backend on the same articles.
    sample = articles[: size.index_articles]
    torch_run = measure_indexing(embedder, sample)
    result["indexing"] = {"torch": _indexing_row(torch_run)}
    result.update(
        index_chunks_per_s=round(torch_run.index_chunks_per_s, 2),
        raw_encode_chunks_per_s=round(torch_run.raw_encode_chunks_per_s, 2),
        index_encode_ratio=round(torch_run.ratio, 3),
    )
    onnx = _onnx(settings) if size.onnx else None
    if onnx is not None:
        onnx_run = measure_indexing(onnx, sample)
        result["indexing"]["onnx-int8"] = _indexing_row(onnx_run)
        result["onnx_speedup"] = round(
            onnx_run.index_chunks_per_s / torch_run.index_chunks_per_s, 3
        )
        result["onnx_raw_speedup"] = round(
            onnx_run.raw_encode_chunks_per_s / torch_run.raw_encode_chunks_per_s, 3
        )

    # 2. Latency over HTTP on the large index.
    base = articles[: size.http_articles] if size.http_articles else articles
    big = repeated(base, size.copies)
    eval_cache = Path(".cache/eval/news_2022/index/cache/embeddings.sqlite")
    index_dir = work / ("index-quick" if quick else "index-full")
    options = options_from(settings, progress=True, second_stage=second_stage)
    if eval_cache.is_file():
        options = dataclasses.replace(options, cache_path=eval_cache)
    report = build_large_index(big, index_dir, embedder, options)
    result["chunks"] = report.chunks
    result["http_index"] = {
        "articles": report.articles,
        "chunks": report.chunks,
        "copies": size.copies,
        "build_s": round(report.seconds, 1),
    }
    runs, served = measure_http(
        index_dir,
        questions_in(settings.index.data_dir),
        size.per_run,
        out / "server.log",
    )
    result["http"] = runs
    result["server_memory"] = served["memory"]
    result["modes"], result["default_mode"] = served["modes"], served["default_mode"]
    hybrid = _run(runs, "/search", served["default_mode"])
    ask = _run(runs, "/ask", served["default_mode"])
    result.update(
        search_p50_ms=hybrid["p50_ms"],
        # What time adds to a query: the plan (as-of cut, the question's period) and the
        # freshness prior, as the service's own stage timings report them (median per stage).
        search_time_p50_ms=round(
            sum(hybrid["stages_p50_ms"].get(stage, 0.0) for stage in ("time", "freshness")), 3
        ),
        search_p99_ms=hybrid["p99_ms"],
        ask_p50_ms=ask["p50_ms"],
        ask_p99_ms=ask["p99_ms"],
    )

    # 3. ANN at scale: real news vectors plus synthetic ones.
    real = _real_vectors(Path(".cache/eval/news_2022/index")) or _real_vectors(index_dir)
    ann = _ann(size.ann_n, real)
    result["ann"] = ann["rows"]
    result.update(
        ann_config=ann["chosen"]["config"],
        ann_recall_at_10=ann["chosen"]["recall_at_10"],
        ann_p50_ms=ann["chosen"]["p50_ms"],
        ann_bytes_per_vector=ann["chosen"]["bytes_per_vector"],
    )
    result["seconds"] = round(time.perf_counter() - started, 1)
    (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    from eval.bench_report import write_report

    write_report(result, out)
    return result


def _run(runs: list[dict[str, Any]], route: str, mode: str) -> dict[str, Any]:
    """The single-client run of ``route`` in ``mode``."""
    for run in runs:
        if (run["route"], run["mode"], run["clients"]) == (route, mode, 1):
            return run
    measured = sorted({f"{r['route']} {r['mode']}" for r in runs})
    raise EvalError(f"no single-client run of {route} in mode {mode!r}; measured: {measured}")


def _indexing_row(run: IndexingResult) -> dict[str, Any]:
    return {
        "articles": run.articles,
        "chunks": run.chunks,
        "raw_encode_chunks_per_s": round(run.raw_encode_chunks_per_s, 2),
        "index_chunks_per_s": round(run.index_chunks_per_s, 2),
        "index_articles_per_s": round(run.index_articles_per_s, 2),
        "index_encode_ratio": round(run.ratio, 3),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
    }


def _real_vectors(index_dir: Path) -> list[Path]:
    """The vector files of an index's current version (each segment once)."""
    from indexer.errors import CitedError
    from indexer.versions import current_version

    try:
        _, folder = current_version(index_dir)
    except CitedError:
        return []
    return sorted(folder.glob("segments/*/vectors.npy"))


def _unique_vectors(paths: list[Path], folder: Path) -> list[Path]:
    """The real vectors once each: copies of an article (the HTTP index repeats news_2022) would
    make recall@10 meaningless (ties between identical vectors, queries found by their twins)."""
    from eval.ann import load_real

    if not paths:
        return []
    vectors = np.unique(np.vstack([load_real(p) for p in paths]), axis=0)
    target = folder / "real.npy"
    np.save(target, vectors.astype(np.float32), allow_pickle=False)
    logger.info("ANN study: %d distinct real vectors", len(vectors))
    return [target]
