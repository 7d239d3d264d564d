"""``cited eval tune-freshness``: fit the freshness prior on a news set with question dates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from indexer.errors import CitedError


def tune_freshness_command(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="BEIR folder whose queries carry question_date or as_of"),
    ] = None,
    qrels: Annotated[
        Path | None, typer.Option("--qrels", help="qrels file (a split you will NOT report on)")
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option("--index", help="index folder (default .cache/eval/<set>/index, reused)"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="only the first N judged queries")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="output folder (default .cache/eval-out/tune-freshness-<set>)"),
    ] = None,
) -> None:
    """Fit the freshness prior's shape, scale, offset and weight, and whether to read time
    expressions, by nDCG@10 on a dated news set (fit on news_2023, report on news_2022)."""
    from cited.compose import cli_parts
    from eval.answers_cli import git_commit
    from eval.beir import load_dataset
    from eval.run import default_index_dir, prepare_index
    from eval.tune_freshness import collect, settings_line, table, tune, write

    if data is None or qrels is None:
        typer.echo("error: --data DIR and --qrels FILE are required", err=True)
        raise typer.Exit(2)
    try:
        parts = cli_parts(ctx)
        dataset = load_dataset(data, qrels=qrels)
        index_dir = index or default_index_dir(dataset)
        info = prepare_index(
            dataset, index_dir, parts.embedder, parts.settings, True, parts.second_stage
        )
        pipeline = parts.pipeline(parts.open_index(index_dir), generator=False)
        try:
            candidates = collect(pipeline, dataset, limit)
            points = tune(pipeline, candidates, dataset.qrels)
        finally:
            pipeline.close()
    except CitedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    record = {
        "data": str(data),
        "qrels": str(dataset.qrels_path),
        "queries": len(candidates),
        "index": str(index_dir),
        "index_version": info.version,
        "mode": pipeline.retriever.mode,
        "commit": git_commit(),
        "time_settings": parts.settings.time.model_dump(),
    }
    folder = write(
        out or Path(".cache/eval-out") / f"tune-freshness-{dataset.name}", points, record
    )
    typer.echo("\n".join(table(points)))
    typer.echo(
        f"best on {dataset.qrels_path} ({len(candidates)} queries): {settings_line(points[0])}"
    )
    typer.echo(f"results in {folder}")
