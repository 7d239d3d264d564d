"""The one configuration: flat ``CITED_*`` names, nested sections, errors that name the value,
the composition root's parts, and the configured request limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from cited.compose import Parts
from cited.config import (
    FLAT_NAMES,
    MODES,
    AnswerSettings,
    GeneratorSettings,
    IndexSettings,
    Mode,
    RetrievalSettings,
    Settings,
)
from indexer.build import build_index
from indexer.update import UpdateOptions
from service.answering.sentences import SentenceSelector
from tests.conftest import CORPUS
from tests.fakes import HashingEmbedder


@pytest.fixture(autouse=True)
def _no_cited_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("CITED_"):
            monkeypatch.delenv(name)


def test_every_flat_name_is_read_from_its_cited_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITED_INDEX_DIR", "/tmp/idx")
    monkeypatch.setenv("CITED_MODE", "bm25")
    monkeypatch.setenv("cited_abstain_threshold", "0.5")  # any case, as before
    monkeypatch.setenv("CITED_GENERATOR", "openai")
    monkeypatch.setenv("CITED_GENERATOR_MAX_TOKENS", "12")
    monkeypatch.setenv("CITED_OPENAI_API_KEY", "secret")
    monkeypatch.setenv("CITED_CORPUS", '["a", "b"]')
    monkeypatch.setenv("CITED_ADMIN_TOKEN", "t")
    monkeypatch.setenv("CITED_TITLE_CONTEXT", "false")
    settings = Settings()
    assert settings.index.index_dir == Path("/tmp/idx")
    assert settings.retrieval.mode is Mode.BM25 and str(settings.retrieval.mode) == "bm25"
    assert settings.answer.abstain_threshold == 0.5
    assert settings.generator.kind == "openai" and settings.generator.max_tokens == 12
    assert settings.generator.openai_api_key == SecretStr("secret")
    assert settings.index.corpus == [Path("a"), Path("b")]
    assert settings.serve.admin_token is not None and settings.index.title_context is False


def test_the_flat_names_are_the_documented_ones() -> None:
    """Every CITED_* name users know, each in one section (README's Settings section)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for flat in FLAT_NAMES:
        assert f"CITED_{flat.upper()}" in readme, f"CITED_{flat.upper()} is not in README.md"
    assert FLAT_NAMES["generator"] == ("generator", "kind")
    assert FLAT_NAMES["generator_context_chars"] == ("generator", "context_chars")
    assert FLAT_NAMES["max_k"] == ("retrieval", "max_k")
    assert len({section for section, _ in FLAT_NAMES.values()}) == 6


def test_keywords_take_flat_names_or_sections_and_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITED_BATCH_SIZE", "7")
    monkeypatch.setenv("CITED_MODEL", "/models/x")
    flat = Settings.of(batch_size=3, generator="local")
    assert flat.index.batch_size == 3 and flat.index.model == "/models/x"
    assert flat.generator.kind == "local"
    nested = Settings.of(index={"batch_size": 4}, generator=GeneratorSettings(threads=3))
    assert nested.index.batch_size == 4 and nested.index.model == "/models/x"
    assert nested.generator.threads == 3


def test_replace_returns_a_validated_copy_without_reading_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings.of(index_dir=Path("one"))
    monkeypatch.setenv("CITED_BATCH_SIZE", "9")
    copy = settings.replace(index_dir=Path("two"), mode="dense", generator_threads=2)
    assert copy.index.index_dir == Path("two") and copy.index.batch_size == 32
    assert copy.retrieval.mode == "dense" and copy.generator.threads == 2
    assert settings.index.index_dir == Path("one") and settings.retrieval.mode == "hybrid+rerank"
    with pytest.raises(ValidationError, match="batch_size"):
        settings.replace(batch_size=0)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CITED_MODE", "fastest", "'dense', 'bm25', 'hybrid' or 'hybrid+rerank'"),
        ("CITED_BATCH_SIZE", "lots", "lots"),
        ("CITED_PORT", "70000", "65535"),
        ("CITED_GENERATOR", "gpt", "'none', 'local' or 'openai'"),
    ],
)
def test_a_bad_value_is_named_with_the_valid_ones(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = str(caught.value)
    assert value in message and expected in message


def test_a_list_that_is_not_json_is_refused_with_an_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITED_CORPUS", "corpus,more")
    with pytest.raises(ValueError, match=r"CITED_CORPUS='corpus,more' is not JSON"):
        Settings()


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="bogus"):
        Settings.of(bogus=1)
    with pytest.raises(ValidationError, match="extra"):
        RetrievalSettings(rrf=3)  # type: ignore[call-arg]


def test_one_mode_enum() -> None:
    assert MODES == tuple(Mode) == ("dense", "bm25", "hybrid", "hybrid+rerank")


def test_defaults_are_written_once_in_the_sections() -> None:
    index, answer = IndexSettings(), AnswerSettings()
    options = UpdateOptions()
    assert (options.chunk_tokens, options.chunk_overlap, options.title_context) == (
        index.chunk_tokens,
        index.chunk_overlap,
        index.title_context,
    )
    assert (options.max_segments, options.grace_s, options.keep_versions) == (
        index.max_segments,
        index.version_grace_s,
        index.keep_versions,
    )
    selector = SentenceSelector(HashingEmbedder())
    assert (selector.passages, selector.threshold) == (
        answer.answer_passages,
        answer.abstain_threshold,
    )


def test_parts_build_once_take_given_ones_and_refuse_unknown_names(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    parts = Parts(
        Settings.of(index_dir=tmp_path, reranker="none"), embedder=embedder, generator=None
    )
    assert parts.embedder is embedder and parts.generator is None
    assert parts.second_stage is None
    assert parts.selector is parts.selector  # cached
    moved = parts.replace(index_dir=tmp_path / "other")
    assert moved.embedder is embedder and moved.selector is parts.selector
    stricter = parts.replace(abstain_threshold=0.9)
    assert stricter.embedder is embedder and stricter.selector is not parts.selector
    assert stricter.selector.threshold == 0.9  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="unknown parts \\['embeder'\\]; valid parts: embedder"):
        Parts(embeder=embedder)


def test_configured_request_limits_are_enforced_and_documented(tmp_path: Path) -> None:
    from service.app import create_app

    index_dir = tmp_path / "index"
    build_index([CORPUS], index_dir, HashingEmbedder(), progress=False)
    settings = Settings.of(index_dir=index_dir, max_k=7, max_query_chars=50, reload_interval_s=0)
    app = create_app(settings, embedder=HashingEmbedder())
    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert schema["SearchRequest"]["properties"]["query"]["maxLength"] == 50
        assert schema["SearchRequest"]["properties"]["k"]["maximum"] == 7
        assert schema["AskRequest"]["properties"]["question"]["maxLength"] == 50
        assert {"type": "integer", "maximum": 7, "minimum": 1} in (
            schema["AskRequest"]["properties"]["k"]["anyOf"]
        )
        assert client.post("/search", json={"query": "defence", "k": 7}).status_code == 200
        too_many = client.post("/search", json={"query": "defence", "k": 8})
        assert too_many.status_code == 422 and "less than or equal to 7" in too_many.text
        too_long = client.post("/ask", json={"question": "q" * 51})
        assert too_long.status_code == 422 and "at most 50 characters" in too_long.text
        stream = client.post("/ask/stream", json={"question": "q" * 51})
        assert stream.status_code == 422
    default = create_app(Settings.of(index_dir=index_dir), embedder=HashingEmbedder())
    with TestClient(default) as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert schema["SearchRequest"]["properties"]["query"]["maxLength"] == 2000
        assert schema["SearchRequest"]["properties"]["k"]["maximum"] == 100
