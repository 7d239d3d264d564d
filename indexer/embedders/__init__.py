"""Embedding backends behind one interface; ``load_embedder`` picks the one ``CITED_BACKEND``
names.

Adding a backend is one file (an :class:`~indexer.embedders.base.Embedder` and a
``load(settings)`` that builds it, importing its heavy libraries only there) plus one line in
:data:`EMBEDDERS`.
"""

from __future__ import annotations

from collections.abc import Callable

from cited.config import Settings
from indexer.embedders import onnx_int8, sentence_transformer
from indexer.embedders.base import Embedder, TextEncoder
from indexer.errors import UnknownBackendError

__all__ = ["EMBEDDERS", "Embedder", "TextEncoder", "load_embedder"]

#: Registered embedding backends: ``CITED_BACKEND`` value -> its loader.
EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "torch": sentence_transformer.load,
    "onnx-int8": onnx_int8.load,
}


def load_embedder(settings: Settings) -> Embedder:
    """The embedder ``settings.index.backend`` names, loaded now (heavy: torch or onnxruntime)."""
    loader = EMBEDDERS.get(settings.index.backend)
    if loader is None:
        raise UnknownBackendError(
            f"unknown embedding backend CITED_BACKEND={settings.index.backend!r}; "
            f"valid backends: {', '.join(EMBEDDERS)}"
        )
    return loader(settings)
