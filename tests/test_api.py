"""The HTTP API on a small index built with the fake embedder: contract and invalid requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cited.config import Settings
from indexer.build import build_index
from indexer.errors import IndexMismatchError
from service.app import create_app
from tests.fakes import HashingEmbedder
from tests.test_index_format import write_corpus


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app for the module: every test here only reads."""
    embedder = HashingEmbedder()
    tmp_path = tmp_path_factory.mktemp("api")
    index_dir = tmp_path / "index"
    build_index([write_corpus(tmp_path / "corpus")], index_dir, embedder, progress=False)
    settings = Settings.of(index_dir=index_dir, max_body_bytes=4096, abstain_threshold=0.2)
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


def test_health(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["articles"] == 3 and body["chunks"] >= 3
    assert body["index_version"].startswith("v000001-")


def test_search_returns_exact_slices(client: TestClient) -> None:
    response = client.post("/search", json={"query": "central bank interest rates", "k": 2})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2
    for r in results:
        text = client.get(f"/articles/{r['article_id']}").json()["text"]
        assert text[r["start"] : r["end"]] == r["text"]
    assert results[0]["score"] >= results[1]["score"]


def test_ask_cites_verbatim(client: TestClient) -> None:
    body = client.post("/ask", json={"question": "Who said the bank would act?"}).json()
    assert body["abstained"] is False
    assert "Governor Smith said the bank would act" in body["answer"]
    assert body["citations"] and "[1]" in body["answer"]
    for c in body["citations"]:
        text = client.get(f"/articles/{c['article_id']}").json()["text"]
        assert text[c["start"] : c["end"]] == c["quote"]
        assert any(
            p["article_id"] == c["article_id"] and p["start"] <= c["start"] and c["end"] <= p["end"]
            for p in body["passages"]
        )


def test_article_view_and_unknown_id(client: TestClient) -> None:
    article = client.get("/articles/story-1").json()
    assert article["title"] == "Central bank holds rates"
    assert article["authors"] == ["Jane Doe"] and article["section"] == "Markets"
    missing = client.get("/articles/no-such-story")
    assert missing.status_code == 404
    assert "no-such-story" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("path", "payload", "needle"),
    [
        ("/ask", {"question": ""}, "question"),
        ("/ask", {"question": "   "}, "non-space"),
        ("/ask", {}, "question"),
        ("/ask", {"question": 42}, "question"),
        ("/ask", {"question": "x" * 2001}, "2000"),
        ("/search", {"query": "rates", "k": 0}, "k"),
        ("/search", {"query": "rates", "k": 101}, "100"),
        ("/search", {"query": "rates", "k": "many"}, "k"),
        ("/search", {"query": ["rates"]}, "query"),
    ],
)
def test_invalid_requests_get_422_with_a_reason(
    client: TestClient, path: str, payload: dict[str, object], needle: str
) -> None:
    response = client.post(path, json=payload)
    assert response.status_code == 422
    assert needle in response.text


def test_malformed_json_is_a_4xx(client: TestClient) -> None:
    response = client.post(
        "/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_oversized_bodies_get_413(client: TestClient) -> None:
    big = {"question": "a" * 5000}
    response = client.post("/ask", json=big)
    assert response.status_code == 413
    assert "4096" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no content-length: a chunked body
        yield b'{"question": "'
        for _ in range(10):
            yield b"a" * 1000
        yield b'"}'

    chunked = client.post("/ask", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_an_index_from_another_model_is_refused_at_startup(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index([write_corpus(tmp_path / "corpus")], index_dir, HashingEmbedder(), progress=False)
    other = HashingEmbedder(name="test/other-model")
    app = create_app(Settings.of(index_dir=index_dir), embedder=other)
    with pytest.raises(IndexMismatchError, match="test/other-model"), TestClient(app):
        pass
