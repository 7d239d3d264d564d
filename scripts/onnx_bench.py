"""Torch fp32 vs ONNX Runtime int8 embedding speed on the same texts, interleaved.

    python scripts/onnx_bench.py [--docs 1000] [--queries 300] [--repeats 3] [--explore] [--ndcg]

Documents are SciFact passages (title + the first ~600 characters, about one chunk), queries are
SciFact claims. Each round times every variant once, in turn, so that load from other processes
falls on all of them alike; the table shows the median round. ``--explore`` also times ONNX
Runtime options (batch size, graph optimisation, execution mode, spinning, padding, sorting);
``--ndcg`` compares dense nDCG@10 on a SciFact subset. The last line is JSON with
``onnx_speedup`` (documents) and ``onnx_query_speedup``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from indexer.embedders.onnx_int8 import OnnxInt8Embedder  # noqa: E402
from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
Encode = Callable[[list[str]], np.ndarray]


def load_texts(folder: Path, docs: int, queries: int) -> tuple[list[str], list[str]]:
    passages: list[str] = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            passages.append(f"{row.get('title', '')}. {row.get('text', '')}"[:600])
            if len(passages) >= docs:
                break
    questions: list[str] = []
    with (folder / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            questions.append(json.loads(line)["text"])
            if len(questions) >= queries:
                break
    return passages, questions


def ndcg_at_10(folder: Path, docs: int, models: dict[str, Any]) -> dict[str, float]:
    """Dense nDCG@10 of each model on the SciFact test queries over a corpus subset: every
    judged document plus the first unjudged ones up to ``docs`` (whole abstracts)."""
    import ir_measures

    qrels: dict[str, dict[str, int]] = {}
    lines = (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    judged = {did for rel in qrels.values() for did in rel}
    ids: list[str] = []
    texts: list[str] = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["_id"] in judged or len(ids) < docs - len(judged):
                ids.append(row["_id"])
                texts.append(f"{row.get('title', '')}. {row.get('text', '')}")
    queries: dict[str, str] = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["_id"] in qrels:
                queries[row["_id"]] = row["text"]
    result: dict[str, float] = {}
    for name, model in models.items():
        scores = model.embed_queries(list(queries.values())) @ model.embed_documents(texts).T
        run = {
            qid: {ids[j]: float(row[j]) for j in np.argsort(-row)[:10]}
            for qid, row in zip(queries, scores, strict=True)
        }
        measure = ir_measures.parse_measure("nDCG@10")
        result[name] = float(ir_measures.calc_aggregate([measure], qrels, run)[measure])
    print(f"\ndense nDCG@10, {len(queries)} SciFact test queries over {len(ids)} abstracts:")
    for name, value in result.items():
        print(f"  {name:<12} {value:.4f}")
    return result


def session(
    onnx: OnnxInt8Embedder, level: str = "all", mode: str = "seq", spin: bool = True
) -> Any:
    """An ONNX Runtime session over the embedder's cached export with other options."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = len(os.sched_getaffinity(0))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    options.execution_mode = (
        ort.ExecutionMode.ORT_PARALLEL if mode == "par" else ort.ExecutionMode.ORT_SEQUENTIAL
    )
    if mode == "par":
        options.inter_op_num_threads = options.intra_op_num_threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(onnx.onnx_path), options, providers=["CPUExecutionProvider"])


def variant(onnx: OnnxInt8Embedder, batch: int = 32, sess: Any = None, **how: bool) -> Encode:
    """An encode function over ``onnx`` with other options; the embedder is restored after."""

    def encode(texts: list[str]) -> np.ndarray:
        saved = (onnx.batch_size, onnx.session)
        onnx.batch_size = batch
        if sess is not None:
            onnx.session = sess
        try:
            if how.get("pad_max"):  # every batch as long as the model's input (timing only)
                onnx._tokenizer.enable_padding(length=onnx.config.max_seq_length)
            if how.get("unsorted"):
                parts = range(0, len(texts), batch)
                return np.concatenate([onnx._encode(texts[i : i + batch], "") for i in parts])
            return onnx.embed_documents(texts)
        finally:
            onnx._tokenizer.no_padding()
            onnx.batch_size, onnx.session = saved

    return encode


def timed(variants: dict[str, Encode], texts: list[str], repeats: int) -> dict[str, float]:
    """Median texts per second of each variant, rounds interleaved."""
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for encode in variants.values():
        encode(texts[:8])  # warm up
    for _ in range(repeats):
        for name, encode in variants.items():
            start = time.perf_counter()
            encode(texts)
            seconds[name].append(time.perf_counter() - start)
    return {name: len(texts) / statistics.median(s) for name, s in seconds.items()}


def table(title: str, rates: dict[str, float], base: str) -> None:
    print(f"\n{title}\n{'variant':<34} {'per s':>8} {'vs ' + base:>10}")
    for name, rate in rates.items():
        print(f"{name:<34} {rate:8.1f} {rate / rates[base]:10.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SCIFACT)
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--explore", action="store_true", help="also time ONNX Runtime options")
    parser.add_argument("--explore-docs", type=int, default=160)
    parser.add_argument("--ndcg", action="store_true", help="also compare dense nDCG@10")
    parser.add_argument("--ndcg-docs", type=int, default=1200)
    parser.add_argument("--cache-dir", type=Path, default=None, help="ONNX export cache")
    args = parser.parse_args()
    if not (args.data / "corpus.jsonl").is_file() or not (args.data / "queries.jsonl").is_file():
        print(f"skipped: {args.data} has no corpus.jsonl and queries.jsonl (SciFact, BEIR format)")
        return 0
    passages, questions = load_texts(args.data, args.docs, args.queries)
    cache = args.cache_dir or Path(tempfile.gettempdir()) / "cited-onnx-bench"
    torch_model = SentenceTransformerEmbedder(batch_size=args.batch_size)
    onnx = OnnxInt8Embedder(batch_size=args.batch_size, cache_dir=cache)
    load = os.getloadavg()[0]
    print(
        f"{len(passages)} passages, {len(questions)} queries, {args.repeats} rounds, "
        f"{len(os.sched_getaffinity(0))} cores, load average {load:.2f} at the start"
    )

    cosine = onnx.embed_documents(passages[:200]) * torch_model.embed_documents(passages[:200])
    cosines = cosine.sum(axis=1)
    print(
        f"cosine int8 vs torch on 200 passages: min {cosines.min():.4f}, mean {cosines.mean():.4f}"
    )
    if args.explore:
        sub = passages[: args.explore_docs]
        default = session(onnx)
        options: dict[str, Encode] = {"onnx (defaults)": variant(onnx, sess=default)}
        for batch in (8, 16, 64):
            options[f"batch {batch}"] = variant(onnx, batch=batch, sess=default)
        options["graph basic"] = variant(onnx, sess=session(onnx, level="basic"))
        options["graph extended"] = variant(onnx, sess=session(onnx, level="extended"))
        options["execution parallel"] = variant(onnx, sess=session(onnx, mode="par"))
        options["no spinning"] = variant(onnx, sess=session(onnx, spin=False))
        options["pad to 256, not batch max"] = variant(onnx, sess=default, pad_max=True)
        options["unsorted batches"] = variant(onnx, sess=default, unsorted=True)
        options["torch fp32"] = torch_model.embed_documents
        table(f"ONNX options on {len(sub)} passages", timed(options, sub, 2), "onnx (defaults)")

    docs = timed(
        {"torch fp32": torch_model.embed_documents, "onnx int8": onnx.embed_documents},
        passages,
        args.repeats,
    )
    queries = timed(
        {"torch fp32": torch_model.embed_queries, "onnx int8": onnx.embed_queries},
        questions,
        args.repeats,
    )
    table("documents", docs, "torch fp32")
    table("queries (one batch call)", queries, "torch fp32")
    result: dict[str, Any] = {
        "onnx_speedup": round(docs["onnx int8"] / docs["torch fp32"], 3),
        "onnx_query_speedup": round(queries["onnx int8"] / queries["torch fp32"], 3),
        "docs_per_s": {k: round(v, 1) for k, v in docs.items()},
        "queries_per_s": {k: round(v, 1) for k, v in queries.items()},
        "batch_size": args.batch_size,
        "threads": len(os.sched_getaffinity(0)),
        "load_start": round(load, 2),
        "load_end": round(os.getloadavg()[0], 2),
    }
    if args.ndcg:
        models = {"torch fp32": torch_model, "onnx int8": onnx}
        ndcg = ndcg_at_10(args.data, args.ndcg_docs, models)
        result["ndcg@10"] = {k: round(v, 4) for k, v in ndcg.items()}
        result["ndcg_change"] = round(ndcg["onnx int8"] - ndcg["torch fp32"], 4)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
