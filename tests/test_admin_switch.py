"""CITED_ADMIN_TOKEN set but empty or blank means no token: /health says ``"admin": false``
and the write routes answer 403, with a warning at start-up; spaces around a token are
dropped."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cited.config import Settings
from service.app import create_app
from tests.api_support import build_small_index
from tests.fakes import HashingEmbedder

ARTICLE = {"id": "bakery", "title": "Bakery wins prize", "text": "A bakery in Devon won."}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_index(tmp_path_factory.mktemp("admin-switch"), HashingEmbedder())


@contextmanager
def served(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, embedder=HashingEmbedder())) as client:
        yield client


@pytest.mark.parametrize("token", ["", "   ", "\t\n"])
def test_an_empty_token_disables_the_write_routes_and_health_says_so(
    index_dir: Path, token: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CITED_ADMIN_TOKEN", token)
    with caplog.at_level(logging.WARNING, logger="cited.sections"):
        settings = Settings.of(index_dir=index_dir, reload_interval_s=0)
    with served(settings) as client:
        assert client.get("/health").json()["admin"] is False
        for header in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {token}"}):
            response = client.post("/articles", json=ARTICLE, headers=header)
            assert response.status_code == 403, response.text
            assert "CITED_ADMIN_TOKEN" in response.json()["detail"]
        assert client.delete("/articles/story-0").status_code == 403
    assert settings.serve.admin_token is None
    (record,) = [r for r in caplog.records if r.name == "cited.sections"]
    assert "CITED_ADMIN_TOKEN is set but empty" in record.getMessage()


def test_a_real_token_enables_them_and_surrounding_spaces_are_dropped(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CITED_ADMIN_TOKEN", "  s3cret \n")
    with caplog.at_level(logging.WARNING, logger="cited.sections"):
        settings = Settings.of(index_dir=index_dir, reload_interval_s=0)
    assert not [r for r in caplog.records if r.name == "cited.sections"]
    token = settings.serve.admin_token
    assert token is not None and token.get_secret_value() == "s3cret"
    assert settings.replace(mode="bm25").serve.admin_token == token  # kept by copies
    with served(settings) as client:
        assert client.get("/health").json()["admin"] is True
        refused = client.delete("/articles/no-such-id", headers={"Authorization": "Bearer x"})
        assert refused.status_code == 401
        response = client.delete("/articles/no-such-id", headers={"Authorization": "Bearer s3cret"})
        assert response.status_code == 404  # authorised: the id is what is missing


def test_unset_stays_disabled_without_a_warning(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("CITED_ADMIN_TOKEN", raising=False)
    with caplog.at_level(logging.WARNING, logger="cited.sections"):
        settings = Settings.of(index_dir=index_dir, reload_interval_s=0)
    assert settings.serve.admin_token is None and not caplog.records
    with served(settings) as client:
        assert client.get("/health").json()["admin"] is False
