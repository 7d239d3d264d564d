"""``manifest.json``: what an index version is, what built it, and a checksum of every file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from indexer.checksums import sha256_file
from indexer.errors import IndexIntegrityError, IndexMismatchError
from indexer.layout import MANIFEST
from indexer.second_stage.record import SecondStageRecord

FORMAT = "cited-index"
#: 2: segments with deletions (1 was one store and one FAISS file per version). The ``store``
#: record came later without a bump: a manifest without one reads as the FAISS store.
FORMAT_VERSION = 2
#: The store of a manifest without a ``store`` record (every index written before it existed).
LEGACY_STORE = "faiss"

__all__ = ["MANIFEST", "Manifest", "StoreInfo", "check_model", "check_store", "read_manifest"]


class ModelInfo(BaseModel):
    name: str
    dim: int
    max_tokens: int
    normalized: bool = True
    metric: str = "inner_product"


class ChunkingInfo(BaseModel):
    max_tokens: int
    overlap_sentences: int
    title_context: bool
    sentence_splitter: str = "nltk-punkt"


class StoreInfo(BaseModel):
    """The vector store that wrote the segments' vectors (see :mod:`indexer.stores`)."""

    backend: str
    params: dict[str, Any] = Field(default_factory=dict)
    #: The size rule's threshold when the version was written (384-d equivalent vectors);
    #: informative only: each segment records how it is searched.
    exact_max_vectors: int | None = None


class SegmentInfo(BaseModel):
    """A segment of the version: its folder name, rows written, articles deleted since."""

    name: str
    articles: int
    chunks: int
    deleted_articles: int = 0
    #: How the segment's vectors are searched: exact, or its stored ANN index's kind.
    vector_index: str = "flat"


class FileInfo(BaseModel):
    sha256: str
    bytes: int


class Manifest(BaseModel):
    # ``second_stage`` is written under its old JSON key ``rerank`` (indexes carry it).
    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    version: str
    created: str
    model: ModelInfo
    chunking: ChunkingInfo
    vector_index: str
    lexical_index: str
    #: The second stage (``hybrid+rerank``); None when the index was built without one.
    second_stage: SecondStageRecord | None = Field(
        default=None,
        validation_alias=AliasChoices("rerank", "second_stage"),
        serialization_alias="rerank",
    )
    #: The vector store; None in indexes written before it was recorded (the FAISS store).
    store: StoreInfo | None = None
    #: Live articles and chunks (deleted ones not counted).
    counts: dict[str, int]
    segments: list[SegmentInfo]
    #: The id the next new chunk takes: chunk ids are never reused.
    next_chunk_id: int
    files: dict[str, FileInfo]

    def store_record(self) -> StoreInfo:
        """The vector store that wrote this version (FAISS when the manifest does not say)."""
        return self.store or StoreInfo(backend=LEGACY_STORE)

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path


def file_info(path: Path) -> FileInfo:
    return FileInfo(sha256=sha256_file(path), bytes=path.stat().st_size)


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST
    if not path.is_file():
        raise IndexIntegrityError(f"{path}: manifest is missing")
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise IndexIntegrityError(f"{path}: manifest is not valid ({exc})") from exc
    if manifest.format != FORMAT or manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{path}: format {manifest.format!r} version {manifest.format_version}; this "
            f"program reads {FORMAT!r} version {FORMAT_VERSION}: rebuild with "
            "`cited index --force PATH...`"
        )
    return manifest


def file_problem(path: Path, expected: FileInfo) -> str | None:
    """What is wrong with ``path`` against its manifest entry (missing, size, sha256), or None."""
    if not path.is_file():
        return "file listed in the manifest is missing"
    size = path.stat().st_size
    if size != expected.bytes:
        return f"{size} bytes, the manifest says {expected.bytes} (truncated or replaced)"
    found = sha256_file(path)
    if found != expected.sha256:
        return f"sha256 {found} does not match the manifest's {expected.sha256}"
    return None


def verify_files(folder: Path, manifest: Manifest) -> None:
    """Raise :class:`IndexIntegrityError` naming the first file whose size or sha256 is off."""
    for name, expected in sorted(manifest.files.items()):
        problem = file_problem(folder / name, expected)
        if problem is not None:
            raise IndexIntegrityError(f"{folder / name}: {problem}")


def check_model(manifest: Manifest, name: str, dim: int) -> None:
    """Refuse to serve an index with a model other than the one that built it."""
    if manifest.model.name != name:
        raise IndexMismatchError(
            f"index version {manifest.version} was built with model {manifest.model.name!r}, "
            f"but the configured model is {name!r}: set CITED_MODEL to the index's model or "
            "rebuild the index with `cited index --force`"
        )
    if manifest.model.dim != dim:
        raise IndexMismatchError(
            f"index version {manifest.version} holds {manifest.model.dim}-d vectors, but the "
            f"model {name!r} makes {dim}-d vectors"
        )


def check_store(manifest: Manifest, backend: str, params: dict[str, Any]) -> None:
    """Refuse to serve an index with a vector store other than the configured one."""
    written = manifest.store_record()
    if written.backend != backend or written.params != params:
        raise IndexMismatchError(
            f"index version {manifest.version} was written by the vector store "
            f"{written.backend!r} with params {written.params}, but the configured store is "
            f"{backend!r} with params {params}: set CITED_STORE / CITED_STORE_PARAMS to the "
            "index's store or rebuild the index with `cited index --force`"
        )
