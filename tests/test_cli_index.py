"""`cited index` on a corpus with bad files: they are reported with their paths and skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.index import open_index
from tests.conftest import ROOT, SEED

pytestmark = pytest.mark.slow


def test_index_skips_malformed_files_and_summarises(tmp_path: Path) -> None:
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
    env = {**os.environ, "CITED_INDEX_DIR": str(index_dir)}
    command = [sys.executable, "-m", "indexer", "index", str(corpus)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("empty.txt", "latin1.txt", "broken.jsonl:2", "scan.pdf"):
        assert f"skipped {corpus / name}" in done.stderr
    assert "2 added, 0 updated, 0 unchanged, 0 removed, 4 skipped" in done.stdout
    assert open_index(index_dir).counts["articles"] == 2

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "up to date" in again.stdout
