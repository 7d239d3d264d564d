"""Backends by name: a setting picks a registered one, an unknown name is refused with the valid
ones, and registering one (one line) is all it takes for the composition root to build it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cited.compose import Parts
from cited.config import Settings
from indexer.embedders import EMBEDDERS, load_embedder
from indexer.embedders.base import Embedder
from indexer.errors import CitedError, UnknownBackendError
from indexer.stores import create_store
from tests.fakes import HashingEmbedder


def test_an_unknown_embedding_backend_names_the_valid_ones() -> None:
    with pytest.raises(UnknownBackendError, match=r"CITED_BACKEND='tf'.*torch, onnx-int8"):
        load_embedder(Settings.of(backend="tf"))


def test_an_unknown_store_names_the_valid_ones() -> None:
    with pytest.raises(UnknownBackendError, match=r"CITED_STORE='milvus'.*faiss"):
        create_store("milvus")


def test_unknown_backends_are_domain_errors() -> None:
    """The CLI and the API translate CitedError at their edge (no traceback for a typo)."""
    assert issubclass(UnknownBackendError, CitedError)


def test_a_registered_embedder_is_built_by_the_composition_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[Settings] = []

    def load(settings: Settings) -> Embedder:
        built.append(settings)
        return HashingEmbedder(dim=24)

    monkeypatch.setitem(EMBEDDERS, "hashing", load)
    parts = Parts(Settings.of(backend="hashing"))
    embedder = parts.embedder
    assert isinstance(embedder, HashingEmbedder) and embedder.dim == 24
    assert parts.embedder is embedder and len(built) == 1  # built once, then kept


def test_the_cli_refuses_an_unknown_backend_in_one_line(tmp_path: Path) -> None:
    """Unknown backend names reach the user as one line naming the valid ones (exit 2)."""
    from typer.testing import CliRunner

    from cited.cli import app

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text('{"_id": "a", "title": "A", "text": "Some text."}\n')
    parts = Parts(Settings.of(index_dir=tmp_path / "index", backend="cuda", reranker="none"))
    done = CliRunner().invoke(app, ["index", str(corpus)], obj=parts)
    assert done.exit_code == 2, done.output
    assert "CITED_BACKEND='cuda'" in done.output and "torch, onnx-int8" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
