"""Generator modes for real: ``local`` (SmolLM2 in xllamacpp) and ``openai`` against a real
OpenAI-compatible HTTP server started here (``tests/openai_server.py``), never a mock object."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cited.config import Settings
from service.app import create_app
from service.generation import GenerationError, load_generator
from service.generation.local import LocalGenerator, check_gguf, packaged_gguf
from service.generation.openai import OpenAIGenerator
from service.pipeline import Pipeline
from tests.fakes import HashingEmbedder
from tests.processes import free_port, running
from tests.test_generation import (
    BAKERY_QUESTION,
    BRIDGE_QUESTION,
    build_articles_index,
    check_verbatim,
    read_events,
    settings,
)

pytestmark = pytest.mark.slow

KEY = "test-key"
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_articles_index(tmp_path_factory.mktemp("generation-openai"))


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tests.openai_server`` in a subprocess on a free port, requiring API key ``KEY``."""
    port = free_port()
    log = tmp_path_factory.mktemp("openai-server") / "server.log"
    url = f"http://127.0.0.1:{port}/v1"
    args = ["-m", "tests.openai_server", "--port", str(port), "--api-key", KEY]
    with running(args, f"{url}/models", log, timeout=60):
        yield url


def openai_settings(index_dir: Path, url: str, model: str, **changes: object) -> Settings:
    return settings(
        index_dir,
        generator="openai",
        openai_base_url=url,
        openai_model=model,
        openai_api_key=KEY,
        **changes,
    )


def test_openai_mode_answers_through_the_api_and_the_stream(
    index_dir: Path, server_url: str
) -> None:
    """Model ``echo`` replies deterministically with passage [1]'s first sentence and [1]."""
    app = create_app(openai_settings(index_dir, server_url, "echo"), embedder=HashingEmbedder())
    with TestClient(app) as client:
        body = client.post("/ask", json={"question": BRIDGE_QUESTION}).json()
        assert body["generator"] == "openai" and body["unsupported"] == []
        assert body["answer"].startswith("The Kestrel Harbour Bridge reopened on Tuesday")
        quote = body["citations"][0]["quote"]
        text = client.get(f"/articles/{body['citations'][0]['article_id']}").json()["text"]
        assert text[body["citations"][0]["start"] : body["citations"][0]["end"]] == quote
        events = read_events(client.post("/ask/stream", json={"question": BRIDGE_QUESTION}).text)
    tokens = [d for e, d in events if e == "token"]
    assert len(tokens) > 3 and [e for e, _ in events][-2:] == ["answer", "done"]
    streamed = json.loads(events[-2][1])
    assert streamed["answer"] == body["answer"] and streamed["citations"] == body["citations"]


def test_openai_client_against_smollm2_and_a_wrong_key(server_url: str) -> None:
    real = OpenAIGenerator(server_url, "smollm2", api_key=KEY, max_tokens=8, timeout_s=60)
    assert real.generate(HELLO).strip()
    assert "".join(real.stream(HELLO)).strip()
    wrong = OpenAIGenerator(server_url, "echo", api_key="nope", max_tokens=8)
    with pytest.raises(GenerationError, match="401"):
        wrong.generate(HELLO)
    with pytest.raises(GenerationError, match="401"):
        list(wrong.stream(HELLO))
    for generator in (real, wrong):
        generator.close()


def test_pipeline_with_smollm2_behind_the_server_stays_verified(
    index_dir: Path, server_url: str
) -> None:
    """Whatever the small model writes, only verified sentences (or the extractive answer)
    come back, with verbatim citations."""
    config = openai_settings(
        index_dir, server_url, "smollm2", generator_max_tokens=32, generator_context_chars=200
    )
    pipeline = Pipeline.open(config, HashingEmbedder(), load_generator(config))
    try:
        result = pipeline.ask(BAKERY_QUESTION)
        logging.getLogger(__name__).info(
            "SmolLM2: %s | dropped %s", result.answer.text, result.unsupported
        )
        assert not result.answer.abstained and result.generator in {"openai", "none"}
        check_verbatim(pipeline, result.answer)
        if result.generator == "openai":  # else: the extractive answer, the fallback
            for sentence in result.unsupported:
                assert sentence not in (result.answer.text or "")
    finally:
        pipeline.close()


def test_local_generator_loads_the_packaged_gguf_and_generates() -> None:
    generator = load_generator(settings(Path("unused"), generator="local", generator_max_tokens=8))
    assert isinstance(generator, LocalGenerator)
    assert generator.generate(HELLO).strip()
    assert "".join(generator.stream(HELLO)).strip()
    generator.close()
    with pytest.raises(GenerationError, match="sha256"):
        check_gguf(packaged_gguf(), "0" * 64)
