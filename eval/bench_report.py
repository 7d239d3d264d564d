"""The benchmark's Markdown tables and plot, from its ``bench.json`` result."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def tables(result: dict[str, Any]) -> str:
    lines = [
        f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores; model "
        f"{result['model']}; load average at start {result['machine']['load_average_at_start']}.",
        "",
        "| backend | articles | chunks | raw encode chunks/s | index chunks/s | ratio | "
        "articles/s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["indexing"].items():
        lines.append(
            f"| {name} | {row['articles']} | {row['chunks']} | {row['raw_encode_chunks_per_s']} | "
            f"{row['index_chunks_per_s']} | {row['index_encode_ratio']} | "
            f"{row['index_articles_per_s']} | {row['peak_rss_mb']} |"
        )
    if "onnx_speedup" in result:
        lines += [
            "",
            f"onnx-int8 end to end: {result['onnx_speedup']}x torch "
            f"(raw encode {result['onnx_raw_speedup']}x).",
        ]
    index = result["http_index"]
    lines += [
        "",
        f"HTTP on {index['chunks']} chunks ({index['articles']} articles, news_2022 x "
        f"{index['copies']} with distinct ids); server RSS {result['server_memory']}; default "
        f"mode {result.get('default_mode', 'not recorded')}.",
        "",
        "| route | mode | clients | requests | p50 ms | p95 ms | p99 ms | req/s | stages p50 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in result["http"]:
        stages = ", ".join(f"{k} {v}" for k, v in run["stages_p50_ms"].items())
        lines.append(
            f"| {run['route']} | {run['mode']} | {run['clients']} | {run['requests']} | "
            f"{run['p50_ms']} | {run['p95_ms']} | {run['p99_ms']} | {run['throughput_rps']} | "
            f"{stages} |"
        )
    lines += [
        "",
        "| ANN config | vectors | build s | bytes/vector | recall@10 | p50 ms | p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["ann"]:
        mark = " (chosen)" if row["config"] == result["ann_config"] else ""
        lines.append(
            f"| {row['config']}{mark} | {row['n']} | {row['build_s']} | "
            f"{row['bytes_per_vector']} | {row['recall_at_10']} | {row['p50_ms']} | "
            f"{row['p99_ms']} |"
        )
    return "\n".join(lines) + "\n"


def write_report(result: dict[str, Any], out: Path) -> None:
    (out / "bench.md").write_text(tables(result), encoding="utf-8")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["http"]
    labels = [f"{r['route']} {r['mode']}\n{r['clients']} client(s)" for r in runs]
    figure, axis = plt.subplots(figsize=(max(8, len(runs) * 0.9), 4.5))
    x = range(len(runs))
    axis.bar([i - 0.2 for i in x], [r["p50_ms"] for r in runs], width=0.4, label="p50")
    axis.bar([i + 0.2 for i in x], [r["p99_ms"] for r in runs], width=0.4, label="p99")
    axis.set_xticks(list(x), labels, fontsize=7)
    axis.set_ylabel("ms")
    axis.set_yscale("log")
    axis.set_title(f"Latency over HTTP, {result['chunks']} chunks")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "bench.png", dpi=120)
    plt.close(figure)
