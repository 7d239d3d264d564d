"""The checks after a kill, with no worker alive: the index verifies (``verify_index``, and
the ``verify`` command of ``python -m indexer`` when asked, run in-process by Typer's
``CliRunner``), its current version's articles and counts, and a search through the service's
pipeline."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cited.config import Settings
from indexer.cli import app as indexer_cli
from indexer.index import open_index
from indexer.verify import verify_index
from service.pipeline import Pipeline
from tests.crash.corpus import State
from tests.crash.tally import Tally
from tests.fakes import HashingEmbedder

QUERY = "council budget harbour storm festival"


def check_verify(index_dir: Path, expected: int, use_cli: bool, tally: Tally) -> str | None:
    """``verify_index`` of the current version (its article count must be ``expected``) and of
    every kept one, and when asked the ``verify`` command; a problem or None."""
    results = list(verify_index(index_dir))
    if len(results) != 1 or results[0][1] is not None:
        return f"verify_index: {results}"
    if results[0][2].get("articles") != expected:
        return f"verify_index counts {results[0][2]}, expected {expected} articles"
    for name, problem, _ in verify_index(index_dir, all_versions=True):
        if problem is not None:
            return f"verify_index --all: kept version {name}: {problem}"
    if use_cli:
        tally.cli_verifies += 1
        done = CliRunner().invoke(indexer_cli, ["verify", "--index", str(index_dir)])
        if done.exit_code != 0 or not done.output.startswith("ok "):
            return f"cited verify exit {done.exit_code}: {done.output.strip()}"
    return None


def read_state(index_dir: Path) -> tuple[str, State, dict[str, int]]:
    """The current version's name, its articles and its manifest counts (``open_index``)."""
    index = open_index(index_dir)
    try:
        state = {a.id: (a.title, a.text) for a, _ in index.store.articles()}
        return index.version, state, index.counts
    finally:
        index.close()


def check_serving(index_dir: Path, version: str, state: State) -> str | None:
    """A search through the service's pipeline answers from ``version``'s articles."""
    pipeline = Pipeline.open(Settings.of(index_dir=index_dir), HashingEmbedder())
    try:
        if pipeline.index.version != version:
            return f"the service opened {pipeline.index.version}, the current one is {version}"
        passages = pipeline.search(QUERY, 5).passages
        if not passages and state:
            return "the search found nothing"
        for p in passages:
            if p.article_id not in state or state[p.article_id][1][p.start : p.end] != p.text:
                return f"passage {p.chunk_id} of {p.article_id!r} is not in version {version}"
    finally:
        pipeline.close()
    return None
