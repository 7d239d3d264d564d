"""Write routes (token, JSON, uploads, delete) and the hot swap to a newer version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cited.config import Settings
from indexer.build import build_index
from indexer.errors import IndexIntegrityError
from indexer.types import Article
from indexer.update import UpdateOptions, update_index
from indexer.versions import current_version
from service.app import create_app
from tests.fakes import HashingEmbedder
from tests.test_index_format import ARTICLE, write_corpus

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BAKERY = {
    "id": "bakery-2024",
    "title": "Village bakery wins national prize",
    "text": "A village bakery in Devon won the national bread prize on Tuesday. "
    "The judges praised its sourdough loaf.",
    "published": "2024-03-05",
    "authors": ["Ann Baker"],
    "source": "Devon News",
}


def make_client(tmp_path: Path, **changes: object) -> Iterator[TestClient]:
    embedder = HashingEmbedder()
    index_dir = tmp_path / "index"
    build_index([write_corpus(tmp_path / "corpus")], index_dir, embedder, progress=False)
    settings = Settings.of(index_dir=index_dir, reload_interval_s=0, **changes)
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(tmp_path, admin_token=TOKEN)


def test_write_routes_need_a_configured_token(tmp_path: Path) -> None:
    for test_client in make_client(tmp_path):
        response = test_client.post("/articles", json=BAKERY, headers=AUTH)
        assert response.status_code == 403 and "CITED_ADMIN_TOKEN" in response.json()["detail"]
        assert test_client.delete("/articles/story-0", headers=AUTH).status_code == 403
        assert test_client.get("/articles/story-0").status_code == 200  # reads stay open


def test_a_missing_or_wrong_token_is_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer wrong"}):
        response = client.post("/articles", json=BAKERY, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "token" in response.json()["detail"]
    assert client.delete("/articles/story-0").status_code == 401
    assert client.get("/health").json()["articles"] == 3  # nothing changed


def test_post_one_article_is_served_at_once(client: TestClient) -> None:
    before = client.get("/health").json()["index_version"]
    response = client.post("/articles", json=BAKERY, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stored"] == ["bakery-2024"] and body["version"] != before
    assert body["articles"] == 4
    assert client.get("/health").json()["index_version"] == body["version"]
    results = client.post("/search", json={"query": "sourdough bread prize", "k": 1}).json()
    assert results["results"][0]["article_id"] == "bakery-2024"
    assert results["index_version"] == body["version"]
    stored = client.get("/articles/bakery-2024").json()
    assert stored["published"] == "2024-03-05" and stored["authors"] == ["Ann Baker"]
    # The same article again: nothing to embed, no new version.
    again = client.post("/articles", json=BAKERY, headers=AUTH).json()
    assert again["unchanged"] == ["bakery-2024"] and again["version"] == body["version"]


def test_a_batch_and_ids_derived_from_content(client: TestClient) -> None:
    anonymous = {"title": "Storm closes the harbour", "text": "Gales closed the harbour."}
    response = client.post("/articles", json={"articles": [anonymous, BAKERY]}, headers=AUTH)
    assert response.status_code == 200, response.text
    stored = response.json()["stored"]
    assert "bakery-2024" in stored and len(stored) == 2
    derived = next(i for i in stored if i != "bakery-2024")
    assert client.get(f"/articles/{derived}").json()["title"] == anonymous["title"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "No text"}, "text"),
        ({**BAKERY, "text": "   "}, "text"),
        ({**BAKERY, "published": "last Tuesday"}, "published"),
        ({**BAKERY, "colour": "red"}, "colour"),
        ({"articles": []}, "articles"),
    ],
)
def test_invalid_articles_are_422_with_the_field(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    response = client.post("/articles", json=payload, headers=AUTH)
    assert response.status_code == 422
    assert field in response.text
    assert client.get("/health").json()["articles"] == 3


def test_upload_files(client: TestClient) -> None:
    files: list[tuple[str, tuple[str, str | bytes]]] = [
        ("file", ("harbour-news.txt", ARTICLE.replace("central bank", "harbour board"))),
        ("file", ("notes.pdf", b"%PDF-1.4")),
    ]
    response = client.post("/articles", files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["stored"] == ["harbour-news"]
    assert body["skipped"][0]["file"] == "notes.pdf" and ".txt" in body["skipped"][0]["reason"]
    assert "harbour board" in client.get("/articles/harbour-news").json()["text"]
    only_bad = client.post("/articles", files=[("file", ("x.pdf", b"%PDF"))], headers=AUTH)
    assert only_bad.status_code == 422 and "x.pdf" in only_bad.text
    wrong_type = client.post(
        "/articles", content=b"hello", headers={**AUTH, "content-type": "text/plain"}
    )
    assert wrong_type.status_code == 415


def test_delete(client: TestClient) -> None:
    missing = client.delete("/articles/no-such-story", headers=AUTH)
    assert missing.status_code == 404 and "no-such-story" in missing.json()["detail"]
    response = client.delete("/articles/story-1", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["deleted"] == ["story-1"] and response.json()["articles"] == 2
    assert client.get("/articles/story-1").status_code == 404
    results = client.post("/search", json={"query": "central bank rates", "k": 10}).json()
    assert {r["article_id"] for r in results["results"]} == {"story-0", "story-2"}


def test_hot_swap_moves_forward_and_refuses_a_damaged_version(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    for test_client in make_client(tmp_path):
        live = test_client.app.state.live  # type: ignore[attr-defined]
        index_dir = live.settings.index.index_dir
        first = live.version
        options = UpdateOptions(progress=False)
        extra = Article(id="extra", title="Harbour", text="The harbour reopened on Friday.")
        update_index(index_dir, embedder, [extra], options=options)
        assert live.refresh() is True
        second = test_client.get("/health").json()
        assert second["index_version"] != first and second["articles"] == 4

        # A newer version with a damaged file (one it does not share) is refused.
        more = Article(id="more", title="Rail", text="The railway line was electrified.")
        update_index(index_dir, embedder, [more], options=options)
        name, folder = current_version(index_dir)
        damaged = next((folder / "bm25").glob("*.npy"))
        data = bytearray(damaged.read_bytes())
        data[-1] ^= 0x01
        damaged.write_bytes(bytes(data))
        assert live.refresh() is False
        health = test_client.get("/health").json()
        assert health["index_version"] == second["index_version"]  # the previous keeps serving
        assert name in health["reload_error"] and damaged.name in health["reload_error"]
        assert test_client.post("/search", json={"query": "harbour", "k": 3}).status_code == 200

        # A writer never builds on a damaged version; once repaired, the next version is
        # picked up, and an older number never replaces a newer one.
        last = Article(id="last", title="Museum", text="The museum opened a new wing.")
        with pytest.raises(IndexIntegrityError, match=damaged.name):
            update_index(index_dir, embedder, [last], options=options)
        data[-1] ^= 0x01
        damaged.write_bytes(bytes(data))
        update_index(index_dir, embedder, [last], options=options)
        assert live.refresh() is True
        health = test_client.get("/health").json()
        assert health["articles"] == 6 and health["reload_error"] is None
        assert live.refresh() is False
