"""``cited index`` / ``python -m indexer``: build the index from article files."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from indexer.errors import CitedError
from indexer.settings import Settings

app = typer.Typer(add_completion=False, help="Index articles for cited.")


def index(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="article files or folders (.txt .md .html .htm .jsonl); default: corpus/"
        ),
    ] = None,
    index_dir: Annotated[
        Path | None, typer.Option("--index", help="index folder; default CITED_INDEX_DIR or index/")
    ] = None,
    force: Annotated[bool, typer.Option(help="rebuild even when the index is up to date")] = False,
) -> None:
    """Read, chunk and embed articles into a new index version, then publish it atomically."""
    from indexer.build import build_with_settings
    from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder

    settings = Settings()
    target = index_dir or settings.index_dir
    try:
        embedder = SentenceTransformerEmbedder(settings.model, batch_size=settings.batch_size)
        report = build_with_settings(
            list(paths or settings.corpus), target, embedder, settings, force=force
        )
    except CitedError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    if report.up_to_date:
        typer.echo(
            f"index {target}/ is up to date: version {report.version}, "
            f"{report.articles} articles (use --force to rebuild)"
        )
        return
    typer.echo(
        f"indexed {report.articles} articles ({len(report.skipped)} skipped) into "
        f"{report.chunks} chunks in {report.seconds:.1f} s "
        f"(embedding {report.embed_seconds:.1f} s); published {target}/versions/{report.version}"
    )
    if report.articles == 0:
        typer.echo("error: no article could be read; nothing to serve", err=True)
        raise typer.Exit(1)


app.command()(index)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
