"""An index written before the second stage moved to ``indexer/second_stage/`` (commit 386f56c,
its manifest key ``rerank``) opens, scores ``hybrid+rerank`` identically, and keeps its second
stage through an update (see ``tests/data/old_second_stage/README.md``)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from cited.config import Settings
from indexer.build import options_from
from indexer.embedders.base import Embedder, TextEncoder
from indexer.index import open_index
from indexer.manifest import MANIFEST
from indexer.second_stage import StoredVectorSecondStage
from indexer.types import Article
from indexer.update import update_index
from service.pipeline import Pipeline

FIXTURE = Path(__file__).parent / "data" / "old_second_stage"


@pytest.fixture
def old_index(tmp_path: Path) -> Path:
    with tarfile.open(FIXTURE / "index-386f56c.tar.xz") as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "index"


def test_an_old_index_gives_identical_hybrid_rerank_results(
    old_index: Path, real_embedder: Embedder, second_stage: TextEncoder
) -> None:
    expected = json.loads((FIXTURE / "expected.json").read_text(encoding="utf-8"))
    stage = StoredVectorSecondStage(second_stage)
    # The expected scores were recorded before the freshness prior: compare without it (the
    # ranking is the same with it: every article of the fixture is equally old "as of now").
    settings = Settings.of(index_dir=old_index, freshness_weight=0)
    pipeline = Pipeline.open(settings, real_embedder, second_stage=stage)
    try:
        assert pipeline.index.manifest.second_stage == stage.stored.record()
        assert "hybrid+rerank" in pipeline.retriever.modes
        for case in expected:
            found = pipeline.retriever.search(case["question"], 10, mode="hybrid+rerank")
            ids = [p.chunk_id for p in found.passages]
            assert ids == case["chunk_ids"], case["question"]
            assert [p.score for p in found.passages] == case["scores"], case["question"]
            scores = stage.scores(case["question"], pipeline.index, ids)
            np.testing.assert_allclose(scores, case["second_stage_scores"], atol=1e-6)
    finally:
        pipeline.close()


def test_an_old_index_keeps_its_second_stage_through_an_update(
    old_index: Path, real_embedder: Embedder, second_stage: TextEncoder
) -> None:
    stage = StoredVectorSecondStage(second_stage)
    before = open_index(old_index)
    chunks = before.manifest.counts["chunks"]
    before.close()
    article = Article("new-1", "Wheat harvest", "Farmers expect a record wheat harvest this year.")
    options = options_from(Settings.of(index_dir=old_index), progress=False, second_stage=stage)
    report = update_index(old_index, real_embedder, [article], options=options)
    assert not report.rebuilt and report.leads_embedded == 1  # the old segment is kept
    index = open_index(old_index)
    try:
        assert index.manifest.counts["chunks"] == chunks + 1
        written = json.loads((index.folder / MANIFEST).read_text(encoding="utf-8"))
        assert "second_stage" not in written and written["rerank"]["model"] == second_stage.name
        new_id = index.store.chunk_ids()[-1]
        np.testing.assert_allclose(
            index.second_stage_vectors([new_id])[0],
            second_stage.embed_documents([stage.stored.text(article)])[0],
            atol=1e-6,
        )
    finally:
        index.close()
