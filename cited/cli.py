"""The ``cited`` command line: every stage's commands in one process.

It mounts index, delete, verify and repair (:mod:`indexer.cli`), search, ask and serve
(:mod:`service.cli`), and eval, train and bench (:mod:`eval.cli`); it is the only module
outside ``eval/`` that imports ``eval``. Each stage also runs alone as ``python -m <package>``.
Every command takes its parts from :func:`cited.compose.cli_parts`: give them in tests with
``CliRunner().invoke(app, args, obj=Parts(settings, embedder=...))``.
"""

from __future__ import annotations

import typer

from eval.cli import app as eval_app
from eval.cli import bench, train_selector
from indexer.cli import delete, index, repair, verify
from service.cli import ask, search, serve, setup_logging

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Semantic search and question answering with citations over your articles.",
)
for command in (index, delete, verify, repair, search, ask, serve):
    app.command()(command)
app.add_typer(
    eval_app,
    name="eval",
    help="Measure retrieval and answers on a BEIR folder or SQuAD file (`cited eval --help`).",
)

train_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Train a component: `cited train selector --news DIR ...`.",
)
train_app.command("selector")(train_selector)
app.add_typer(train_app, name="train")
app.command("bench")(bench)


def main() -> None:
    setup_logging()
    app()


if __name__ == "__main__":
    main()
