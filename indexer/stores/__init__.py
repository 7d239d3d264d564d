"""Vector stores: the backends that keep and search a segment's vectors, chosen by name.

Adding a backend: one module with a :class:`~indexer.stores.base.VectorStore` subclass, plus one
``register(...)`` line (here for a shipped backend, or anywhere before the store is created);
``tests/test_store_contract.py`` then runs the contract suite over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from indexer.errors import IndexMismatchError, UnknownBackendError
from indexer.manifest import Manifest, StoreInfo
from indexer.stores.base import (
    EXACT_MAX_VECTORS,
    SegmentRows,
    StoredSegment,
    StoreOptions,
    VectorSearch,
    VectorStore,
    wants_approximate,
)
from indexer.stores.faiss import FaissStore

__all__ = [
    "BACKENDS",
    "EXACT_MAX_VECTORS",
    "SegmentRows",
    "StoreOptions",
    "StoredSegment",
    "VectorSearch",
    "VectorStore",
    "create_store",
    "register",
    "store_from",
    "store_info",
    "store_of",
    "wants_approximate",
]

#: Every backend by name (``CITED_STORE``).
BACKENDS: dict[str, type[VectorStore]] = {}


def register(backend: type[VectorStore]) -> type[VectorStore]:
    """Make ``backend`` available under its ``name`` (usable as a class decorator)."""
    known = BACKENDS.get(backend.name)
    if known is not None and known is not backend:
        raise ValueError(f"a vector store named {backend.name!r} is already registered: {known}")
    BACKENDS[backend.name] = backend
    return backend


register(FaissStore)


def create_store(
    name: str, params: Mapping[str, Any] | None = None, exact_max_vectors: int = EXACT_MAX_VECTORS
) -> VectorStore:
    """The store ``name`` with ``params``; raises :class:`UnknownBackendError` naming the valid
    backends."""
    backend = BACKENDS.get(name)
    if backend is None:
        raise UnknownBackendError(
            f"unknown vector store CITED_STORE={name!r}; valid: {', '.join(sorted(BACKENDS))}"
        )
    return backend(params, exact_max_vectors)


def store_from(options: StoreOptions) -> VectorStore:
    return create_store(options.name, options.params, options.exact_max_vectors)


def store_info(store: VectorStore) -> StoreInfo:
    """The manifest's record of ``store``."""
    return StoreInfo(
        backend=store.name, params=dict(store.params), exact_max_vectors=store.exact_max_vectors
    )


def store_of(manifest: Manifest) -> VectorStore:
    """The store that wrote ``manifest``'s version; no record (an older index): FAISS."""
    info = manifest.store_record()
    try:
        return create_store(info.backend, info.params)
    except ValueError as exc:
        raise IndexMismatchError(
            f"index version {manifest.version}: {exc}: rebuild with `cited index --force`"
        ) from exc
