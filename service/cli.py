"""The ``cited`` command: index, search, ask and serve."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer
from pydantic import ValidationError

from indexer.cli import delete, index, verify
from indexer.errors import CitedError
from indexer.settings import Settings
from service.pipeline import Pipeline
from service.retrieval import UnknownModeError
from service.schemas import MAX_K, RetrievalOptions

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Semantic search and question answering with citations over your articles.",
)
app.command()(index)
app.command()(delete)
app.command()(verify)


def _pipeline(settings: Settings) -> Pipeline:
    """Open the index first (fast, fails with a clear reason), then load the model."""
    from indexer.build import store_options
    from indexer.index import open_index
    from service.app import load_embedder
    from service.generation import load_generator
    from service.rerank import load_reranker

    index = open_index(
        settings.index_dir, verify=settings.verify_checksums, store=store_options(settings)
    )
    return Pipeline.over(
        index,
        load_embedder(settings),
        settings,
        load_generator(settings),
        load_reranker(settings),
    )


def _snippet(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(2)


ModeOption = Annotated[
    str | None,
    typer.Option("--mode", help="dense, bm25, hybrid or hybrid+rerank; default CITED_MODE"),
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="published on or after (YYYY-MM-DD)")
]
ToOption = Annotated[str | None, typer.Option("--to", help="published on or before (YYYY-MM-DD)")]
SourceOption = Annotated[str | None, typer.Option("--source", help="only this source")]
AuthorOption = Annotated[str | None, typer.Option("--author", help="only authors matching this")]
JsonOption = Annotated[bool, typer.Option("--json", help="print the API's response shape")]


def _options(
    mode: str | None, since: str | None, until: str | None, source: str | None, author: str | None
) -> RetrievalOptions:
    """The API's own request validation, so the CLI accepts exactly what the API accepts."""
    try:
        return RetrievalOptions.model_validate(
            {
                "mode": mode,
                "published_from": since,
                "published_to": until,
                "source": source,
                "author": author,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems) from exc


@app.command()
def search(
    query: str,
    k: Annotated[int, typer.Option("-k", min=1, max=MAX_K, help="passages to show")] = 5,
    mode: ModeOption = None,
    since: FromOption = None,
    until: ToOption = None,
    source: SourceOption = None,
    author: AuthorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the passages that best match QUERY."""
    from service.convert import passages_out

    options = _options(mode, since, until, source, author)
    try:
        retrieval = _pipeline(Settings()).search(query, k, options.mode, options.filters())
    except (CitedError, UnknownModeError) as exc:
        raise _fail(exc) from exc
    if as_json:
        results = [p.model_dump() for p in passages_out(retrieval.passages)]
        typer.echo(
            json.dumps({"results": results, "mode": retrieval.mode}, indent=2, ensure_ascii=False)
        )
        return
    if not retrieval.passages:
        typer.echo("no passage matches")
    for p in retrieval.passages:
        meta = ", ".join(x for x in (p.source, p.published) if x)
        typer.echo(
            f"{p.rank}. [{p.score:.3f}] {p.title}{f' ({meta})' if meta else ''} "
            f"[{p.article_id} {p.start}:{p.end}]"
        )
        typer.echo(f"   {_snippet(p.text, 300)}")


@app.command()
def ask(
    question: str,
    mode: ModeOption = None,
    since: FromOption = None,
    until: ToOption = None,
    source: SourceOption = None,
    author: AuthorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer QUESTION from the articles, with numbered citations."""
    from service.convert import ask_response

    options = _options(mode, since, until, source, author)
    try:
        pipeline = _pipeline(Settings())
        result = pipeline.ask(question, None, options.mode, options.filters())
    except (CitedError, UnknownModeError) as exc:
        raise _fail(exc) from exc
    if as_json:
        response = ask_response(result, pipeline.index.version)
        typer.echo(json.dumps(response.model_dump(), indent=2, ensure_ascii=False))
        return
    answer = result.answer
    if answer.abstained:
        typer.echo(f"The articles do not seem to answer this ({answer.reason}).")
        typer.echo("Closest passages:")
        for p in result.retrieval.passages[:3]:
            typer.echo(f"  - {p.title} ({p.article_id} {p.start}:{p.end}): {_snippet(p.text, 160)}")
        return
    typer.echo(answer.text or "")
    if answer.short_answer:
        typer.echo(f"Short answer: {answer.short_answer.text}")
    typer.echo("")
    for c in answer.citations:
        typer.echo(f"[{c.n}] {c.title} ({c.article_id}, characters {c.start}-{c.end})")
        typer.echo(f"    \u201c{c.quote}\u201d")
    if result.unsupported:
        typer.echo("")
        typer.echo("Generated sentences dropped (the passages do not back them):")
        for sentence in result.unsupported:
            typer.echo(f"  - {sentence}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default CITED_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default CITED_PORT or 8000")] = None,
) -> None:
    """Serve the API on HOST:PORT (the index must exist: run `cited index` first)."""
    import uvicorn

    from indexer.build import store_options
    from indexer.index import open_index
    from service.app import create_app

    settings = Settings()
    try:  # fail fast with a one-line reason instead of a traceback from the lifespan
        open_index(
            settings.index_dir, verify=settings.verify_checksums, store=store_options(settings)
        ).close()
    except CitedError as exc:
        raise _fail(exc) from exc
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)


@app.command(
    "eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def eval_command(ctx: typer.Context) -> None:
    """Measure retrieval on a BEIR folder: runs `python -m eval` with the same arguments
    (`cited eval --help` lists them)."""
    import subprocess
    import sys

    # A separate process: the service never imports eval/ (eval drives the service).
    done = subprocess.run([sys.executable, "-m", "eval", *ctx.args], check=False)
    raise typer.Exit(done.returncode)


@app.command(
    "train",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def train_command(ctx: typer.Context) -> None:
    """Train a component: `cited train selector --news DIR ...` runs `python -m eval
    train-selector` with the same arguments (`cited train selector --help` lists them)."""
    import subprocess
    import sys

    if not ctx.args or ctx.args[0] != "selector":
        typer.echo("usage: cited train selector [OPTIONS] (the one trainable component)", err=True)
        raise typer.Exit(2)
    done = subprocess.run(
        [sys.executable, "-m", "eval", "train-selector", *ctx.args[1:]], check=False
    )
    raise typer.Exit(done.returncode)


@app.command(
    "bench",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def bench_command(ctx: typer.Context) -> None:
    """Speed on this machine: runs `python -m eval bench` with the same arguments
    (`--quick`, `--out DIR`)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "eval", "bench", *ctx.args], check=False)
    raise typer.Exit(done.returncode)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app()
