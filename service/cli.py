"""``python -m service``: index, search, ask and serve (mounted by :mod:`cited.cli`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Annotated

import typer
from pydantic import ValidationError

from cited.compose import cli_parts
from indexer.cli import delete, index, verify
from indexer.errors import CitedError
from service.pipeline import Pipeline
from service.retrieval import Retrieval, UnknownModeError
from service.schemas import RetrievalOptions

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Semantic search and question answering with citations over your articles.",
)
app.command()(index)
app.command()(delete)
app.command()(verify)


def _pipeline(ctx: typer.Context) -> Pipeline:
    """Open the index first (fast, fails with a clear reason), then load the model."""
    return cli_parts(ctx).pipeline()


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
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="ask as of this ISO date or datetime (default now): nothing published later is "
        "used, and fresher articles rank first",
    ),
]


def _options(
    mode: str | None,
    since: str | None,
    until: str | None,
    source: str | None,
    author: str | None,
    as_of: str | None = None,
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
                "as_of": as_of,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise typer.BadParameter(problems) from exc


def _time_line(retrieval: Retrieval) -> str:
    """``as of 2022-06-16T23:59:59+00:00 · period "this week" (2022-06-13..2022-06-19)``."""
    plan = retrieval.time
    if plan is None:
        return ""
    line = f"as of {plan.as_of.isoformat()}" + ("" if plan.as_of.given else " (now)")
    if plan.window is not None:
        last = plan.window.end - dt.timedelta(seconds=1)
        line += f" · period {plan.window.text!r} ({plan.window.start.date()}..{last.date()})"
    if not plan.freshness.active:
        line += " · no freshness prior"
    return line


@app.command()
def search(
    ctx: typer.Context,
    query: str,
    k: Annotated[int, typer.Option("-k", min=1, help="passages to show, 1..CITED_MAX_K (100)")] = 5,
    mode: ModeOption = None,
    since: FromOption = None,
    until: ToOption = None,
    source: SourceOption = None,
    author: AuthorOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the passages that best match QUERY."""
    from service.convert import passages_out, time_out

    options = _options(mode, since, until, source, author, as_of)
    max_k = cli_parts(ctx).settings.retrieval.max_k
    if k > max_k:
        raise typer.BadParameter(f"{k} is over CITED_MAX_K; valid: 1..{max_k}", param_hint="-k")
    try:
        retrieval = _pipeline(ctx).search(query, k, options.mode, options.filters(), options.when())
    except (CitedError, UnknownModeError) as exc:
        raise _fail(exc) from exc
    if as_json:
        results = [p.model_dump() for p in passages_out(retrieval.passages)]
        applied = time_out(retrieval)
        body = {
            "results": results,
            "mode": retrieval.mode,
            "time": applied.model_dump() if applied else None,
        }
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    typer.echo(_time_line(retrieval))
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
    ctx: typer.Context,
    question: str,
    mode: ModeOption = None,
    since: FromOption = None,
    until: ToOption = None,
    source: SourceOption = None,
    author: AuthorOption = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer QUESTION from the articles, with numbered citations."""
    from service.convert import ask_response

    options = _options(mode, since, until, source, author, as_of)
    try:
        pipeline = _pipeline(ctx)
        result = pipeline.ask(question, None, options.mode, options.filters(), options.when())
    except (CitedError, UnknownModeError) as exc:
        raise _fail(exc) from exc
    if as_json:
        response = ask_response(result, pipeline.index.version)
        typer.echo(json.dumps(response.model_dump(), indent=2, ensure_ascii=False))
        return
    answer = result.answer
    typer.echo(_time_line(result.retrieval))
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
    dates = {p.chunk_id: p.published for p in result.retrieval.passages}
    for c in answer.citations:
        when = f", {dates[c.chunk_id]}" if dates.get(c.chunk_id) else ""
        typer.echo(f"[{c.n}] {c.title} ({c.article_id}{when}, characters {c.start}-{c.end})")
        typer.echo(f"    \u201c{c.quote}\u201d")
    if result.unsupported:
        typer.echo("")
        typer.echo("Generated sentences dropped (the passages do not back them):")
        for sentence in result.unsupported:
            typer.echo(f"  - {sentence}")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="default CITED_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default CITED_PORT or 8000")] = None,
) -> None:
    """Serve the API on HOST:PORT (the index must exist: run `cited index` first)."""
    import uvicorn

    from service.app import create_app
    from service.serving import head_timeout_protocol

    parts = cli_parts(ctx)
    settings = parts.settings
    try:  # fail fast with a one-line reason instead of a traceback from the lifespan
        parts.open_served(keep=True)  # checked once: the app serves what this opened
        _ = parts.embedder, parts.second_stage  # built once here, kept for the app
    except CitedError as exc:
        raise _fail(exc) from exc
    app = create_app(parts=parts)
    uvicorn.run(
        app,
        host=host or settings.serve.host,
        port=port or settings.serve.port,
        http=head_timeout_protocol(settings.serve.header_timeout_s),
    )


def setup_logging() -> None:
    """Warnings only, one line each (every command line of the project logs this way)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> None:
    """``python -m service``: index, search, ask and serve (``cited`` adds eval, train, bench)."""
    setup_logging()
    app()
