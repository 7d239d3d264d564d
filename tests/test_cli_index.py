"""`cited index` (in process, with the session's models) on a corpus with bad files: they are
reported with their paths and skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cited.cli import app
from cited.compose import Parts
from cited.config import Settings
from indexer.embedders.base import Embedder, TextEncoder
from indexer.index import open_index
from indexer.second_stage import StoredVectorSecondStage
from tests.conftest import SEED

pytestmark = pytest.mark.slow


def test_index_skips_malformed_files_and_summarises(
    tmp_path: Path, real_embedder: Embedder, second_stage: TextEncoder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    (corpus / "empty.txt").write_text("   \n\n")
    (corpus / "latin1.txt").write_bytes("Caf\xe9 society\n\nA body.".encode("latin-1"))
    (corpus / "broken.jsonl").write_text(
        '{"_id": "a", "title": "T", "text": "Fine text."}\n{oops\n'
    )
    (corpus / "scan.pdf").write_bytes(b"%PDF-1.4")
    index_dir = tmp_path / "index"
    settings = Settings.of(index_dir=index_dir)
    command = ["index", str(corpus)]

    def run() -> Result:
        parts = Parts(
            settings, embedder=real_embedder, second_stage=StoredVectorSecondStage(second_stage)
        )
        return CliRunner().invoke(app, command, obj=parts)

    done = run()
    assert done.exit_code == 0, done.output
    for name in ("empty.txt", "latin1.txt", "broken.jsonl:2", "scan.pdf"):
        assert f"skipped {corpus / name}" in done.stderr
    assert "2 added, 0 updated, 0 unchanged, 0 removed, 4 skipped" in done.stdout
    assert open_index(index_dir).counts["articles"] == 2

    again = run()
    assert again.exit_code == 0 and "up to date" in again.stdout
