"""Write an evaluation's results: metrics.json, metrics.md, metrics.png and TREC run files."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval.metrics import CONTAINMENT_KS, MEASURES, NOTE, DocRanking
from eval.run import ConfigResult, EvalResult

logger = logging.getLogger(__name__)

LABELS = {"ndcg@10": "nDCG@10", "recall@10": "R@10", "recall@100": "R@100", "mrr@10": "MRR@10"}


def default_out_dir(result: EvalResult) -> Path:
    """``.cache/eval-out/<dataset>-<UTC timestamp>`` (ignored by git)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(".cache") / "eval-out" / f"{result.dataset.name}-{stamp}"


def config_metrics(config: ConfigResult) -> dict[str, Any]:
    """The four IR means (None without qrels), answer containment when known, latencies."""
    values: dict[str, Any] = {
        name: (config.ir.means[name] if config.ir else None) for name in MEASURES
    }
    values.update(config.containment)
    values["query_p50_ms"] = config.p50_ms
    values["query_p95_ms"] = config.p95_ms
    values["queries"] = len(config.run)
    values["queries_with_qrels"] = len(config.ir.per_query) if config.ir else 0
    values["queries_with_answers"] = len(config.answer_hits)
    return values


def metrics_json(result: EvalResult) -> dict[str, Any]:
    configs = {c.name: config_metrics(c) for c in result.configs}
    first = configs[result.configs[0].name]
    dataset = result.dataset
    judged = len(dataset.judged())
    return {
        **{name: first[name] for name in MEASURES},
        "configs": configs,
        "index_build_seconds": result.index.seconds,
        "index_reused": result.index.reused,
        "index": {
            "dir": str(result.index.dir),
            "version": result.index.version,
            "articles": result.index.articles,
        },
        "dataset": dataset.name,
        "data_dir": str(dataset.root),
        "qrels": str(dataset.qrels_path) if dataset.qrels_path else None,
        "queries": {
            "file": str(dataset.queries_path),
            "total": len(dataset.queries),
            "with_qrels": judged,
            "skipped_without_qrels": len(dataset.queries) - judged,
            "evaluated": len(result.queries),
            "with_answers": sum(1 for q in result.queries if q.answers),
        },
        "model": result.model,
        "dates": {
            "used": result.use_dates,
            "queries_dated": result.dated_queries,
            "note": "each query asked as of its own as_of/question_date"
            if result.use_dates
            else "--ignore-dates: every query asked as of now",
            "time_settings": result.time,
        },
        "top_k_passages": 100,
        "note": NOTE,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _cell(value: object, digits: int = 4) -> str:
    return (
        "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    )


def markdown(result: EvalResult) -> str:
    """One row per config: the IR means, answer containment and query latency."""
    data = metrics_json(result)
    answers = any(c.containment for c in result.configs)
    heads = [LABELS[m] for m in MEASURES]
    heads += [f"answer@{k}" for k in CONTAINMENT_KS] if answers else []
    heads += ["p50 ms", "p95 ms"]
    lines = [
        f"| config | {' | '.join(heads)} |",
        "|---|" + "---:|" * len(heads),
    ]
    for name, values in data["configs"].items():
        cells = [_cell(values[m]) for m in MEASURES]
        if answers:
            cells += [_cell(values.get(f"answer_in_top{k}")) for k in CONTAINMENT_KS]
        cells += [_cell(values["query_p50_ms"], 1), _cell(values["query_p95_ms"], 1)]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    queries = data["queries"]
    index = "reused" if result.index.reused else f"built in {result.index.seconds:.1f} s"
    header = (
        f"# Retrieval: {data['dataset']}\n\n"
        f"Model `{data['model']}`; qrels `{data['qrels']}`; {queries['evaluated']} queries "
        f"evaluated ({queries['skipped_without_qrels']} of {queries['total']} without qrels "
        f"skipped); index {index} ({result.index.articles} articles).\n"
    )
    return header + "\n" + "\n".join(lines) + f"\n\n{NOTE}\n"


def plot(result: EvalResult, path: Path) -> None:
    """Grouped bars: the four IR metrics, one bar per config."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c.name for c in result.configs]
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, config in enumerate(result.configs):
        values = [config.ir.means[m] if config.ir else 0.0 for m in MEASURES]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(MEASURES))]
        bars = ax.bar(xs, values, width, label=config.name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(range(len(MEASURES)), [LABELS[m] for m in MEASURES])
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{result.dataset.name}: {len(result.queries)} queries, {result.model}")
    ax.legend(title="config")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def trec_lines(run: dict[str, DocRanking], tag: str) -> list[str]:
    """``qid Q0 docid rank score tag`` lines, ranks from 1 in the evaluated order."""
    return [
        f"{qid} Q0 {doc} {rank} {score:.6f} {tag}"
        for qid, docs in run.items()
        for rank, (doc, score) in enumerate(docs, start=1)
    ]


def per_query_lines(config: ConfigResult) -> list[str]:
    heads = ["query_id", *MEASURES, *(f"answer_in_top{k}" for k in CONTAINMENT_KS), "ms"]
    lines = ["\t".join(heads)]
    for qid, ms in config.latencies_ms.items():
        ir = config.ir.per_query.get(qid) if config.ir else None
        hits = config.answer_hits.get(qid)
        cells = [_cell(ir[m]) if ir else "" for m in MEASURES]
        cells += [str(int(hits[k])) if hits else "" for k in CONTAINMENT_KS]
        lines.append("\t".join([qid, *cells, f"{ms:.2f}"]))
    return lines


def write_report(result: EvalResult, out_dir: Path | None = None) -> Path:
    """Write every output file into ``out_dir`` (default: :func:`default_out_dir`)."""
    out = out_dir or default_out_dir(result)
    out.mkdir(parents=True, exist_ok=True)
    data = metrics_json(result)
    (out / "metrics.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out / "metrics.md").write_text(markdown(result), encoding="utf-8")
    plot(result, out / "metrics.png")
    for config in result.configs:
        run_text = "\n".join(trec_lines(config.run, f"cited-{config.name}")) + "\n"
        (out / f"run-{config.name}.trec").write_text(run_text, encoding="utf-8")
        per_query = "\n".join(per_query_lines(config)) + "\n"
        (out / f"per-query-{config.name}.tsv").write_text(per_query, encoding="utf-8")
    logger.info("wrote %s", out)
    return out
