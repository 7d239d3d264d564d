"""FAISS building block: approximate inner-product search with FAISS over SQ8 codes.

Two methods, both storing 8-bit scalar-quantised vectors (per-dimension min/max trained on the
first batch added) and measured by ``python -m eval.ann`` on 2 cores (issue "Speed on 2 cores"):

* ``"ivf-sq8"`` (the default, the study's winner): ``IVF{nlist},SQ8`` with a hashtable direct
  map (so ``reconstruct`` works by id). nlist defaults to the power of two nearest 4*sqrt(n) of
  the first batch; ~400 bytes per vector (+16 for the id hashtable); nprobe=32 gives recall@10
  0.988 at 0.5 ms p50 on 200k and 0.985 at 1.2 ms p50 (5.4 ms p99) on 1M, one thread; building
  1M took 8 minutes (k-means on 164k vectors) on 2 busy cores.
* ``"hnsw-sq8"``: ``IndexIDMap2`` over ``IndexHNSWSQ`` (M links, efConstruction, efSearch);
  ~540 bytes per vector at M=16, but its recall flattens at ~0.90 from 200k vectors up (the graph
  is built on SQ8 distances with efConstruction 40), so it misses the 0.95 target.

Filtering (``allowed``): both methods drop disallowed ids while searching, so a selective filter
leaves few candidates in the probed lists (IVF) or the ``efSearch`` beam (HNSW), and recall
falls, down to fewer than ``k`` hits. Hence:

* at most ``FILTER_EXACT_BELOW`` allowed ids: exact search over just those ids, scoring their
  stored (SQ8-decoded) vectors with a matrix product, a few milliseconds at the limit. Raw
  float32 vectors are not kept (that would quadruple the footprint); decoded codes differ from
  them by ~1e-3 in inner product, so only near-ties can trade places with exact search.
* more allowed ids: nprobe / efSearch scaled by the inverse selectivity ``size / len(allowed)``
  (up to all lists for IVF, ``FILTERED_EF_CAP`` for HNSW).

:func:`indexer.stores.base.wants_approximate` decides, by size and outside this backend, which
segments the FAISS store (:mod:`indexer.stores.faiss`) gives one of these.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer.errors import IndexIntegrityError
from indexer.stores.base import VectorIndex, top_k
from indexer.stores.faiss_flat import reconstruct_rows

logger = logging.getLogger(__name__)

#: With at most this many allowed ids, a filtered search is exact over just those ids.
FILTER_EXACT_BELOW = 20_000
#: The most efSearch a filtered HNSW search may use.
FILTERED_EF_CAP = 2048

METHODS = ("ivf-sq8", "hnsw-sq8")


def default_nlist(n: int) -> int:
    """The power of two nearest 4*sqrt(n), at most n/39 (k-means wants 39 points a list)."""
    target = 2 ** round(math.log2(max(1.0, 4 * math.sqrt(n))))
    return int(max(1, min(target, n // 39)))


class FaissAnnIndex(VectorIndex):
    """Approximate search by inner product: IVF-SQ8 (default) or HNSW-SQ8."""

    def __init__(
        self,
        dim: int,
        *,
        method: str = "ivf-sq8",
        nlist: int | None = None,
        nprobe: int = 32,
        m: int = 16,
        ef_construction: int = 40,
        ef_search: int = 128,
        index: faiss.Index | None = None,
    ):
        if method not in METHODS:
            raise ValueError(f"unknown ANN method {method!r}; valid: {', '.join(METHODS)}")
        for name, value in (("nprobe", nprobe), ("m", m), ("ef_construction", ef_construction)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if ef_search < 1:
            raise ValueError(f"ef_search must be >= 1, got {ef_search}")
        self.dim, self.method = dim, method
        self.nlist, self.nprobe = nlist, nprobe
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        self.index: Any = index
        if index is None and method == "hnsw-sq8":
            qtype = faiss.ScalarQuantizer.QT_8bit
            hnsw = faiss.IndexHNSWSQ(dim, qtype, m, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
            hnsw.hnsw.efConstruction = ef_construction
            hnsw.hnsw.efSearch = ef_search
            self.index = faiss.IndexIDMap2(hnsw)
        if self.index is not None and method == "ivf-sq8":
            self.nlist = int(self.index.nlist)
        self._sorted_ids: np.ndarray | None = None
        self.kind = self._kind()

    def _kind(self) -> str:
        if self.method == "hnsw-sq8":
            return (
                f"faiss:IDMap2,HNSW{self.m},SQ8,IP,"
                f"efConstruction={self.ef_construction},efSearch={self.ef_search}"
            )
        return f"faiss:IVF{self.nlist or 'auto'},SQ8,IP,nprobe={self.nprobe}"

    @classmethod
    def load(cls, path: Path, dim: int, **search: int) -> FaissAnnIndex:
        """Read an index written by :meth:`save`; ``nprobe=`` / ``ef_search=`` override."""
        try:
            index: Any = faiss.read_index(str(path))  # the concrete class; never re-wrap it
        except RuntimeError as exc:
            raise IndexIntegrityError(f"{path}: not a readable FAISS index ({exc})") from exc
        if index.d != dim:
            raise IndexIntegrityError(f"{path}: vectors have dimension {index.d}, expected {dim}")
        if isinstance(index, faiss.IndexIVFScalarQuantizer):
            return cls(
                dim, method="ivf-sq8", nprobe=search.get("nprobe", index.nprobe), index=index
            )
        inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else None
        if not isinstance(inner, faiss.IndexHNSWSQ):
            raise IndexIntegrityError(
                f"{path}: a {type(index).__name__}, expected IVF-SQ8 or IDMap2 over HNSW-SQ8"
            )
        hnsw = inner.hnsw
        return cls(
            dim,
            method="hnsw-sq8",
            m=int(faiss.vector_to_array(hnsw.cum_nneighbor_per_level)[1]) // 2,
            ef_construction=int(hnsw.efConstruction),
            ef_search=search.get("ef_search", int(hnsw.efSearch)),
            index=index,
        )

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors``; the first call trains (SQ8 ranges, IVF centroids) on its vectors, so
        add everything in one batch or a representative first one (later outliers are clipped)."""
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(
                f"vectors have shape {vectors.shape}, expected ({len(ids)}, {self.dim})"
            )
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.index is None:
            self.index = self._train_ivf(vectors)
        elif not self.index.is_trained:
            faiss.downcast_index(self.index.index).train(vectors)
            self.index.is_trained = True
        self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        self._sorted_ids = None

    def _train_ivf(self, vectors: np.ndarray) -> Any:
        nlist = self.nlist or default_nlist(len(vectors))
        index: Any = faiss.index_factory(self.dim, f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        sample = np.random.default_rng(0).permutation(len(vectors))[: 40 * nlist]
        logger.info("training IVF%d,SQ8 on %d of %d vectors", nlist, len(sample), len(vectors))
        index.train(vectors[np.sort(sample)])
        index.nprobe = self.nprobe  # saved with the index; load() reads it back
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        self.nlist = nlist
        self.kind = self._kind()
        return index

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, self.size)) if self.size else 1
        if not self.size:
            return _empty(len(queries), k)
        if allowed is None:
            scores, ids = self.index.search(queries, k, params=self._params(k, 1, None))
            return scores, ids
        allowed = np.unique(np.asarray(allowed, dtype=np.int64))
        if len(allowed) <= FILTER_EXACT_BELOW:
            return self._exact(queries, k, allowed)
        widen = math.ceil(self.size / len(allowed))
        params = self._params(k, widen, faiss.IDSelectorBatch(allowed))
        scores, ids = self.index.search(queries, k, params=params)
        return scores, ids

    def _params(self, k: int, widen: int, selector: faiss.IDSelector | None) -> Any:
        if self.method == "hnsw-sq8":
            ef = min(max(self.ef_search, k) * widen, max(FILTERED_EF_CAP, self.ef_search, k))
            return faiss.SearchParametersHNSW(sel=selector, efSearch=ef)  # type: ignore[attr-defined]
        nprobe = min(self.nprobe * widen, int(self.index.nlist))
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]

    def _present_ids(self) -> np.ndarray:
        """Every id held, sorted (built once after each add)."""
        if self._sorted_ids is None:
            if self.method == "hnsw-sq8":
                held = faiss.vector_to_array(self.index.id_map)
            else:
                lists = self.index.invlists
                held = np.concatenate(
                    [np.zeros(0, np.int64)]
                    + [
                        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                        for i in range(lists.nlist)
                        if lists.list_size(i)
                    ]
                )
            self._sorted_ids = np.sort(held.astype(np.int64))
        return self._sorted_ids

    def _exact(
        self, queries: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over the stored vectors of the ``allowed`` ids that are present."""
        held = self._present_ids()
        pos = np.minimum(np.searchsorted(held, allowed), len(held) - 1)
        present = allowed[held[pos] == allowed]
        if not len(present):
            return _empty(len(queries), k)
        vectors = np.asarray(self.index.reconstruct_batch(present), dtype=np.float32)
        return top_k(queries, present, vectors, k)

    def reconstruct(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of ``ids`` (n, dim); SQ8 storage gives them to ~1e-3."""
        return reconstruct_rows(self.index, ids, self.dim)

    def save(self, path: Path) -> None:
        if self.index is None:
            raise ValueError(f"{path}: nothing to save, an IVF index is created by its first add")
        faiss.write_index(self.index, str(path))

    @property
    def size(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)


def _empty(n_queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's "no neighbour" result: score -FLT_MAX, id -1."""
    scores = np.full((n_queries, k), -np.finfo(np.float32).max, dtype=np.float32)
    return scores, np.full((n_queries, k), -1, dtype=np.int64)
