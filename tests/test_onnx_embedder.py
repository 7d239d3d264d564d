"""The onnx-int8 backend with the real packaged model: one real export, cached for the session."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from cited.config import Settings
from indexer.build import build_index
from indexer.embedders import load_embedder
from indexer.embedders.base import Embedder
from indexer.embedders.onnx_int8 import ONNX_FILE, OnnxInt8Embedder, read_model_config
from indexer.errors import IndexMismatchError, ModelNotFoundError
from indexer.index import open_index
from indexer.sentences import sentence_spans
from service.pipeline import Pipeline
from tests.conftest import CORPUS, SEED, SEED_QUESTION

pytestmark = pytest.mark.slow

SANCTIONS_SENTENCE = (
    "China has told the US there is little chance of a meeting between the countries' defence "
    "ministers at a security forum in Singapore due to a dispute over sanctions"
)


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx_embedder(onnx_cache: Path) -> OnnxInt8Embedder:
    """Made through the settings factory: the first construction exports (tens of seconds)."""
    settings = Settings.of(backend="onnx-int8", onnx_cache_dir=onnx_cache, batch_size=16)
    embedder = load_embedder(settings)
    assert isinstance(embedder, OnnxInt8Embedder)
    return embedder


@pytest.fixture(scope="session")
def seed_sentences() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return [text[start:end] for start, end in sentence_spans(text)]


def test_vectors_are_unit_length_and_close_to_torch(
    onnx_embedder: OnnxInt8Embedder, real_embedder: Embedder, seed_sentences: list[str]
) -> None:
    assert onnx_embedder.dim == real_embedder.dim
    assert onnx_embedder.max_tokens == real_embedder.max_tokens
    assert onnx_embedder.name != real_embedder.name
    ours = onnx_embedder.embed_documents(seed_sentences)
    theirs = real_embedder.embed_documents(seed_sentences)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.98, sorted(cosines)[:3]
    query = onnx_embedder.embed_query(SEED_QUESTION)
    assert float(query @ real_embedder.embed_query(SEED_QUESTION)) >= 0.98
    assert onnx_embedder.embed_documents([]).shape == (0, onnx_embedder.dim)


def test_token_offsets_match_the_torch_backend(
    onnx_embedder: OnnxInt8Embedder, real_embedder: Embedder, seed_sentences: list[str]
) -> None:
    texts = [
        *seed_sentences,
        SEED.read_text(encoding="utf-8"),  # longer than the model reads: never truncated here
        "Café naïve Zürich 北京 🙂 don't—stop",
        "  leading\tand trailing  ",
        "",
    ]
    assert onnx_embedder.token_offsets(texts) == real_embedder.token_offsets(texts)
    assert onnx_embedder.count_tokens(texts) == real_embedder.count_tokens(texts)


def test_the_export_is_reused_and_a_corrupt_one_is_made_again(
    onnx_embedder: OnnxInt8Embedder, onnx_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cached = onnx_embedder.onnx_path
    assert cached.name == ONNX_FILE and cached.is_relative_to(onnx_cache)
    assert cached.parent.name.startswith("sentence-transformers-all-minilm-l6-v2-")
    before = cached.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="indexer.embedders.onnx_int8"):
        again = OnnxInt8Embedder(cache_dir=onnx_cache)
    assert again.onnx_path == cached and cached.stat().st_mtime_ns == before
    assert "using the cached ONNX export" in caplog.text and "exporting" not in caplog.text

    # Damage a copy of the cache (the session's export stays intact for the other tests).
    damaged = onnx_cache.parent / "onnx-damaged"
    shutil.copytree(onnx_cache, damaged)
    target = damaged / cached.parent.name / ONNX_FILE
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="indexer.embedders.onnx_int8"):
        remade = OnnxInt8Embedder(cache_dir=damaged)
    assert "does not match its checksum" in caplog.text
    assert remade.onnx_path.read_bytes() != bytes(data)
    np.testing.assert_allclose(
        remade.embed_queries([SEED_QUESTION]), again.embed_queries([SEED_QUESTION]), atol=1e-5
    )


def test_an_onnx_index_answers_the_seed_question(
    onnx_embedder: OnnxInt8Embedder, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    report = build_index([CORPUS], index_dir, onnx_embedder, progress=False)
    assert report.articles >= 1 and not report.skipped
    settings = Settings.of(index_dir=index_dir, backend="onnx-int8")
    pipeline = Pipeline.over(open_index(index_dir), onnx_embedder, settings)
    result = pipeline.ask(SEED_QUESTION)
    answer = result.answer
    assert not answer.abstained and answer.citations
    first = answer.citations[0]
    assert first.article_id == SEED.stem
    assert first.quote.startswith(SANCTIONS_SENTENCE)


def test_a_torch_index_is_refused_by_the_onnx_backend(
    onnx_embedder: OnnxInt8Embedder, seed_index: Path
) -> None:
    with pytest.raises(IndexMismatchError, match="onnx-int8"):
        open_index(seed_index).check_model(onnx_embedder.name, onnx_embedder.dim)


def _model_folder(tmp_path: Path, pooling: dict[str, object], st: dict[str, object]) -> Path:
    (tmp_path / "1_Pooling").mkdir()
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (tmp_path / "config_sentence_transformers.json").write_text(json.dumps(st))
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    return tmp_path


def test_prompts_are_read_like_sentence_transformers(tmp_path: Path) -> None:
    prompts: dict[str, object] = {"prompts": {"query": "query: ", "passage": "passage: "}}
    config = read_model_config(_model_folder(tmp_path, {"pooling_mode": "cls"}, prompts))
    assert (config.query_prompt, config.document_prompt) == ("query: ", "passage: ")
    assert config.pooling == "cls" and config.dim == 8 and config.max_seq_length == 512


def test_an_unimplemented_pooling_mode_is_refused(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path, {"pooling_mode_max_tokens": True}, {})
    with pytest.raises(ModelNotFoundError, match=r"pools with \['max'\].*mean, cls"):
        read_model_config(folder)
