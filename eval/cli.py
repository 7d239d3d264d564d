"""``python -m eval``: measure retrieval over a BEIR folder (``retrieval``, the default command),
answers (``answers``) and the abstention threshold (``calibrate-abstention``).

Options of the default command may be given without naming it (``python -m eval --data DIR``);
other commands (``python -m eval answers ...``) can be added beside ``retrieval``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from eval.time_cli import tune_freshness_command
from indexer.errors import CitedError

app = typer.Typer(
    add_completion=False,
    help="Measure retrieval with the service's own code over a BEIR-layout evaluation set.",
)

DataOpt = Annotated[
    Path | None, typer.Option("--data", help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/")
]
QrelsOpt = Annotated[
    Path | None,
    typer.Option("--qrels", help="qrels file (default: qrels/test.tsv, else the only .tsv)"),
]
QueriesOpt = Annotated[
    Path | None,
    typer.Option("--queries", help="questions .jsonl/.tsv to use instead of queries.jsonl"),
]
ConfigOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--config",
        help="retrieval mode to evaluate, repeatable: dense, bm25, hybrid, hybrid+rerank "
        "(default: CITED_MODE)",
    ),
]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="output folder (default .cache/eval-out/<set>-<time>)")
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", min=1, help="only the first N queries with qrels")
]
IndexOpt = Annotated[
    Path | None,
    typer.Option("--index", help="index folder (default .cache/eval/<set>/index, reused)"),
]
IgnoreDatesOpt = Annotated[
    bool,
    typer.Option(
        "--ignore-dates",
        help="ask every query as of now, not as of its own as_of/question_date",
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def run_retrieval(
    ctx: typer.Context,
    data: Path | None,
    qrels: Path | None,
    queries: Path | None,
    config: list[str] | None,
    out: Path | None,
    limit: int | None,
    index: Path | None,
    ignore_dates: bool = False,
) -> None:
    from cited.compose import cli_parts
    from eval.beir import load_dataset
    from eval.report import markdown, write_report
    from eval.run import resolve_configs, run_eval

    if data is None:
        raise _fail("--data DIR is required (a BEIR folder with corpus.jsonl and queries.jsonl)")
    try:
        parts = cli_parts(ctx)
        settings = parts.settings
        configs = resolve_configs(config, settings.retrieval.mode)
        dataset = load_dataset(data, qrels=qrels, queries=queries)
        result = run_eval(
            dataset,
            parts.embedder,
            configs=configs,
            index_dir=index,
            settings=settings,
            limit=limit,
            second_stage=parts.second_stage,
            use_dates=not ignore_dates,
        )
        folder = write_report(result, out)
    except CitedError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(markdown(result))
    typer.echo(f"results in {folder}")


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    data: DataOpt = None,
    qrels: QrelsOpt = None,
    queries: QueriesOpt = None,
    config: ConfigOpt = None,
    out: OutOpt = None,
    limit: LimitOpt = None,
    index: IndexOpt = None,
    ignore_dates: IgnoreDatesOpt = False,
) -> None:
    """Without a command, run ``retrieval`` with the options given."""
    # Every command logs the same way: warnings, and eval's own progress notes.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("eval").setLevel(logging.INFO)
    if ctx.invoked_subcommand is None:
        run_retrieval(ctx, data, qrels, queries, config, out, limit, index, ignore_dates)


@app.command()
def retrieval(
    ctx: typer.Context,
    data: DataOpt = None,
    qrels: QrelsOpt = None,
    queries: QueriesOpt = None,
    config: ConfigOpt = None,
    out: OutOpt = None,
    limit: LimitOpt = None,
    index: IndexOpt = None,
    ignore_dates: IgnoreDatesOpt = False,
) -> None:
    """nDCG@10, Recall@10/100, MRR@10, answer containment and latency per retrieval config."""
    run_retrieval(ctx, data, qrels, queries, config, out, limit, index, ignore_dates)


@app.command("tune-fusion")
def tune_fusion_command(
    ctx: typer.Context,
    data: DataOpt = None,
    qrels: QrelsOpt = None,
    limit: LimitOpt = None,
    index: IndexOpt = None,
    rerank: Annotated[
        bool,
        typer.Option(
            "--rerank", help="fit the second stage's weight (hybrid+rerank) instead of dense's"
        ),
    ] = False,
) -> None:
    """Fit the fusion weights (dense or second-stage weight, RRF k) on a TRAINING split."""
    from cited.compose import cli_parts
    from eval.beir import load_dataset
    from eval.run import default_index_dir, prepare_index
    from eval.tune import settings_line, tune_fusion

    if data is None or qrels is None:
        raise _fail("--data DIR and --qrels FILE (a training split, never the reported one)")
    try:
        parts = cli_parts(ctx)
        dataset = load_dataset(data, qrels=qrels)
        if not rerank:
            parts = parts.replace(reranker="none")
        index_dir = index or default_index_dir(dataset)
        prepare_index(dataset, index_dir, parts.embedder, parts.settings, True, parts.second_stage)
        pipeline = parts.pipeline(parts.open_index(index_dir), generator=False)
        points = tune_fusion(dataset, pipeline, limit=limit, rerank=rerank)
    except CitedError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(
        "| dense weight | rerank weight | RRF k | nDCG@10 | Recall@100 |\n|---|---|---|---|---|"
    )
    for p in points:
        typer.echo(
            f"| {p.dense_weight} | {p.rerank_weight} | {p.rrf_k} | {p.ndcg10:.4f} | "
            f"{p.recall100:.4f} |"
        )
    typer.echo(f"best on {dataset.qrels_path}: {settings_line(points[0], rerank)}")


app.command("tune-freshness")(tune_freshness_command)

SplitOpt = Annotated[
    str,
    typer.Option(
        "--split",
        help="SQuAD articles: all, calibration (first half) or report (second half)",
    ),
]


@app.command()
def answers(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="SQuAD JSON file (v1.1 or v2.0) or a BEIR folder"),
    ] = None,
    qrels: QrelsOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N questions")] = None,
    out: OutOpt = None,
    split: SplitOpt = "all",
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="abstention threshold (default: settings)")
    ] = None,
    index: IndexOpt = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="SQuAD: sentence-score weights sim,lexical,passage"),
    ] = None,
    ignore_dates: IgnoreDatesOpt = False,
) -> None:
    """Answer quality: SQuAD with the paragraph given, or a BEIR set end to end."""
    from cited.compose import cli_parts
    from eval.answers_cli import answers as run_answers

    if data is None:
        raise _fail("--data FILE_OR_DIR is required (SQuAD JSON file or BEIR folder)")
    try:
        metrics, folder = run_answers(
            data,
            qrels,
            limit,
            out,
            split,
            threshold,
            index,
            weights,
            parts=cli_parts(ctx),
            use_dates=not ignore_dates,
        )
    except CitedError as exc:
        raise _fail(str(exc)) from exc
    for key, value in metrics.items():
        if isinstance(value, float):
            typer.echo(f"{key}: {value:.4f}")
    typer.echo(f"results in {folder}")


@app.command("calibrate-abstention")
def calibrate_abstention(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option("--data", help="SQuAD v2.0 JSON file")] = None,
    split: SplitOpt = "calibration",
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="first N questions")] = None,
    out: OutOpt = None,
    min_answered: Annotated[
        float,
        typer.Option(
            "--min-answered",
            min=0.0,
            max=1.0,
            help="share of answerable questions that must still be answered",
        ),
    ] = 0.95,
    balanced: Annotated[
        bool,
        typer.Option("--balanced", help="maximise (noans abstain + hasans accuracy) / 2 instead"),
    ] = False,
) -> None:
    """Sweep the abstention threshold on a SQuAD v2.0 split (never the reported one): the
    highest threshold that still answers --min-answered of the answerable questions."""
    from cited.compose import cli_parts
    from eval.answers_cli import calibrate

    if data is None:
        raise _fail("--data FILE (SQuAD v2.0 JSON) is required")
    try:
        lines, best, folder = calibrate(
            data, split, limit, out, None if balanced else min_answered, parts=cli_parts(ctx)
        )
    except CitedError as exc:
        raise _fail(str(exc)) from exc
    typer.echo("\n".join(lines))
    typer.echo(f"best threshold on the {split} split: {best:.2f} (results in {folder})")


@app.command("train-selector")
def train_selector(
    ctx: typer.Context,
    news: Annotated[
        list[Path] | None,
        typer.Option("--news", help="BEIR folder of questions with answers, repeatable"),
    ] = None,
    index: IndexOpt = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="first N questions per source")
    ] = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="model file to write (CITED_SENTENCE_RANKER=<this path>)"),
    ] = Path(".cache/train/sentence_ranker.json"),
    regularisation: Annotated[
        float, typer.Option("--c", min=1e-6, help="inverse regularisation of the logistic model")
    ] = 1.0,
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples",
            help="folder for the collected examples (<news folder name>.npz): read when there, "
            "else collected and written, so a re-fit skips retrieval",
        ),
    ] = None,
) -> None:
    """Fit the sentence ranker end to end on news questions with known answers (never on a set
    you report on)."""
    from cited.compose import cli_parts
    from eval.train_cli import train_selector as run_training

    try:
        lines, path = run_training(
            list(news or []), index, limit, out, regularisation, examples, parts=cli_parts(ctx)
        )
    except CitedError as exc:
        raise _fail(str(exc)) from exc
    typer.echo("\n".join(lines))
    typer.echo(f"model written to {path} (use it with CITED_SENTENCE_RANKER={path})")


@app.command()
def bench(
    ctx: typer.Context,
    quick: Annotated[
        bool, typer.Option("--quick", help="smaller sizes: under 10 minutes on 2 cores")
    ] = False,
    out: OutOpt = None,
    streams: Annotated[
        int,
        typer.Option(
            "--streams",
            min=0,
            help="instead: server memory over this many POST /ask/stream requests on an index "
            "of the corpus (CITED_CORPUS), in --rounds rounds from --clients clients",
        ),
    ] = 0,
    clients: Annotated[int, typer.Option("--clients", min=1)] = 20,
    rounds: Annotated[int, typer.Option("--rounds", min=1)] = 5,
) -> None:
    """Indexing speed against the raw model, HTTP latency on a large index, ANN at scale:
    prints the tables and writes bench.json, bench.md and bench.png (with --streams: server
    memory under streaming, streams.json, streams.md and streams.png)."""
    import time

    from cited.compose import cli_parts
    from eval.bench import run_bench
    from eval.bench_report import tables

    parts = cli_parts(ctx)
    folder = out or Path(".cache/bench-out") / time.strftime("%Y%m%dT%H%M%S")
    if streams:
        from eval.bench_streams import StreamPlan
        from eval.bench_streams_cli import run_streams

        try:
            typer.echo(run_streams(parts, StreamPlan(streams, clients, rounds), folder))
        except (CitedError, ValueError) as exc:
            raise _fail(str(exc)) from exc
        typer.echo(f"wrote {folder}/streams.json, streams.md, streams.png")
        return
    try:
        result = run_bench(
            parts.settings, folder, quick, parts.embedder, second_stage=parts.second_stage
        )
    except CitedError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(tables(result))
    keys = [
        "index_chunks_per_s",
        "raw_encode_chunks_per_s",
        "index_encode_ratio",
        "onnx_speedup",
        "search_p50_ms",
        "search_p99_ms",
        "search_time_p50_ms",
        "ask_p50_ms",
        "ask_p99_ms",
        "chunks",
        "ann_recall_at_10",
        "ann_p50_ms",
        "ann_bytes_per_vector",
    ]
    typer.echo(" ".join(f"{k}={result.get(k)}" for k in keys))
    typer.echo(f"wrote {folder}/bench.json, bench.md, bench.png")
