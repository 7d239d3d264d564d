"""``cited index|delete|verify|repair`` / ``python -m indexer``: change and check the index."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from cited.compose import cli_parts
from indexer.errors import CitedError

app = typer.Typer(add_completion=False, help="Index articles for cited.")

IndexOption = Annotated[
    Path | None, typer.Option("--index", help="index folder; default CITED_INDEX_DIR or index/")
]


def _fail(exc: CitedError | str) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


def index(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="article files or folders (.txt .md .html .htm .jsonl); default: corpus/"
        ),
    ] = None,
    index_dir: IndexOption = None,
    prune: Annotated[
        bool, typer.Option(help="also remove indexed articles that are not under PATHS")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="rebuild every segment even when nothing changed")
    ] = False,
    published_at: Annotated[
        str | None,
        typer.Option(
            "--published-at",
            help="when the files were saved (ISO date or datetime): a relative byline such as "
            "'5 HOURS AGO' is counted back from it (a file's <name>.meta.json 'published_at' "
            "wins); without it such an article has no date",
        ),
    ] = None,
) -> None:
    """Add new articles and update changed ones (unchanged ones are skipped) in a new index
    version, published atomically."""
    from indexer.build import build_with_settings
    from indexer.dates import parse_reference

    parts = cli_parts(ctx)
    settings = parts.settings
    target = index_dir or settings.index.index_dir
    try:
        reference = parse_reference(published_at) if published_at else None
    except ValueError as exc:
        raise _fail(f"--published-at: {exc}") from exc
    try:
        embedder = parts.embedder
        report = build_with_settings(
            list(paths or settings.index.corpus),
            target,
            embedder,
            settings,
            force=force,
            prune=prune,
            second_stage=parts.second_stage,
            published_at=reference,
        )
    except CitedError as exc:
        raise _fail(exc) from exc
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}", err=True)
    if report.up_to_date:
        typer.echo(
            f"index {target}/ is up to date: version {report.version}, {report.articles} "
            f"articles, {len(report.unchanged)} read and unchanged (use --force to rebuild)"
        )
    else:
        typer.echo(
            f"{len(report.added)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.deleted)} removed, "
            f"{len(report.skipped)} skipped; {report.embedded} chunks and "
            f"{report.leads_embedded} second-stage leads embedded in "
            f"{report.embed_seconds:.1f} s (the rest from the cache); {report.seconds:.1f} s in "
            f"all. Published {target}/versions/{report.version}: {report.articles} articles, "
            f"{report.chunks} chunks, {report.segments} segments"
        )
    if report.articles == 0:
        typer.echo("error: no article could be read; nothing to serve", err=True)
        raise typer.Exit(1)


def delete(
    ctx: typer.Context,
    ids: Annotated[list[str], typer.Argument(help="ids of the articles to remove")],
    index_dir: IndexOption = None,
) -> None:
    """Remove articles by id in a new index version (unknown ids are reported, exit code 1)."""
    from indexer.build import options_from
    from indexer.update import update_index

    parts = cli_parts(ctx)
    settings = parts.settings
    target = index_dir or settings.index.index_dir
    try:
        embedder = parts.embedder
        options = options_from(settings, second_stage=parts.second_stage)
        report = update_index(target, embedder, delete=ids, options=options)
    except CitedError as exc:
        raise _fail(exc) from exc
    for missing in report.not_found:
        typer.echo(f"not in the index: {missing}", err=True)
    if report.deleted:
        typer.echo(
            f"removed {len(report.deleted)} articles; published {target}/versions/"
            f"{report.version}: {report.articles} articles, {report.chunks} chunks"
        )
    if report.not_found:
        raise typer.Exit(1)


def verify(
    ctx: typer.Context,
    index_dir: IndexOption = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="check every kept version, not only the current one")
    ] = False,
) -> None:
    """Check the current version (manifest, checksums, counts across FAISS, BM25 and SQLite);
    exit non-zero with the reason when anything is off."""
    from indexer.verify import verify_index

    target = index_dir or cli_parts(ctx).settings.index.index_dir
    failed = False
    for name, problem, counts in verify_index(target, all_versions=all_versions):
        if problem is None:
            typer.echo(f"ok {name}: {counts['articles']} articles, {counts['chunks']} chunks")
        else:
            failed = True
            typer.echo(f"FAILED {name}: {problem}", err=True)
    if failed:
        raise typer.Exit(1)


def repair(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="corpus files or folders to re-read the articles the index lost (only read "
            "when some are lost); default: corpus/"
        ),
    ] = None,
    index_dir: IndexOption = None,
    published_at: Annotated[
        str | None,
        typer.Option("--published-at", help="as for `cited index`, for the files re-read"),
    ] = None,
) -> None:
    """Replace the damaged files of the current version with a new version: segments rebuilt
    from the stored articles and the embedding cache (nothing it holds is embedded again),
    articles whose stored copy is damaged re-read from PATHS. Exit 1 if some are lost."""
    from indexer.build import options_from
    from indexer.dates import parse_reference
    from indexer.readers import read_corpus
    from indexer.repair import repair_index
    from indexer.types import Article
    from indexer.update import Recipe

    parts = cli_parts(ctx)
    settings = parts.settings
    target = index_dir or settings.index.index_dir
    try:
        reference = parse_reference(published_at) if published_at else None
    except ValueError as exc:
        raise _fail(f"--published-at: {exc}") from exc
    corpus_paths = list(paths or settings.index.corpus)

    def corpus() -> list[Article]:
        typer.echo(f"re-reading {', '.join(map(str, corpus_paths))} for lost articles")
        read = list(read_corpus(corpus_paths, reference))
        return [a for a in read if isinstance(a, Article)]

    try:
        options = options_from(settings, second_stage=parts.second_stage)
        report = repair_index(target, Recipe.of(parts.embedder, options), options, corpus)
    except CitedError as exc:
        raise _fail(exc) from exc
    if report.version is None:
        typer.echo(f"nothing to repair: every file of version {report.base} verifies")
        return
    for damage in report.damaged:
        typer.echo(f"damaged in {report.base}: {damage}")
    for note in report.notes:
        typer.echo(f"warning: {note}", err=True)
    for name in report.unreadable:
        typer.echo(f"warning: the store of segment {name} is not readable", err=True)
    typer.echo(
        f"kept {len(report.kept)} segments, rebuilt {len(report.rebuilt)} "
        f"({', '.join(report.rebuilt) or 'none'}): {report.recovered} articles recovered from "
        f"the index, {len(report.from_corpus)} re-read from the corpus, {len(report.lost)} "
        f"lost; {report.embedded} chunks embedded (the rest from the cache) in "
        f"{report.seconds:.1f} s. Published {target}/versions/{report.version}: "
        f"{report.articles} articles, {report.chunks} chunks"
    )
    if report.lost:
        typer.echo(
            f"lost (damaged in the index, not in the corpus): {', '.join(report.lost)}", err=True
        )
        raise typer.Exit(1)


app.command()(index)
app.command()(delete)
app.command()(verify)
app.command()(repair)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
