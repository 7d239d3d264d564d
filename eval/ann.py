"""ANN study: exact vs HNSW vs IVF (SQ8 / PQ) on up to millions of unit vectors, inner product.

``python -m eval.ann --n 1000000 [--real PATH ...] [--queries N] [--config NAME ...] [--out DIR]``

Data: real embeddings where given (a ``vectors.npy`` of a segment, or an older ``vectors.faiss``
IDMap2/Flat file), topped up to ``n`` with synthetic vectors from :func:`synthetic_vectors`.
Queries: held-out real vectors (at most half the queries, never more than a tenth of the real
ones) plus synthetic vectors drawn from the same mixture; no query is in the base set.

Each configuration is built once and searched at each of its search settings. A row reports the
build time (training + adding), bytes per vector (the serialised index, ids included, over n),
recall@10 against exact search, and single-query p50/p99 latency with ``threads`` OpenMP threads.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexer.stores.faiss_ann import default_nlist

logger = logging.getLogger(__name__)

K = 10
DIM = 384

# Synthetic mixture, calibrated on the scifact all-MiniLM-L6-v2 chunk vectors (11k): there the
# mean vector has norm 0.34, random pairs have cosine 0.13 and the covariance has a
# participation ratio of ~68 (an effective dimension far below 384).
SPECTRUM_DECAY = 0.6  # per-direction variance ~ rank^-0.6 (participation ratio ~60 at 384-d)
SHARED_WEIGHT = 0.45  # weight of the component every vector shares (anisotropy of real models)
POINTS_PER_CLUSTER = 400  # mean cluster size; sizes are lognormal (sigma 1), so some are large
NOISE_RANGE = (0.7, 1.3)  # per-cluster noise norm relative to the (unit) centre offset
CHUNKS_PER_DOC = 2  # vectors come in "articles" of ~2 chunks: a shared anchor plus ...
CHUNK_NOISE = 0.6  # ... this much own noise (real chunk vectors have near-duplicate siblings)


def synthetic_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """``n`` unit vectors from an anisotropic Gaussian mixture (deterministic in ``seed``).

    ``x = normalise(SHARED_WEIGHT * mu + c_k + s_k * e)`` where ``mu`` is a fixed unit vector,
    the centres ``c_k`` and the noise ``e`` are Gaussian with variance decaying as a power of the
    rank along a random orthonormal basis (both of unit expected norm), the cluster ``k`` is drawn
    with lognormal weights and ``s_k`` is uniform in ``NOISE_RANGE``. Neither uniform on the
    sphere (no neighbour structure) nor tight clusters (trivial for IVF).
    """
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    scale = np.arange(1, dim + 1, dtype=np.float64) ** (-SPECTRUM_DECAY / 2)
    scale /= np.linalg.norm(scale)
    shaping = (scale[:, None] * basis.T).astype(np.float32)  # z @ shaping: shaped, E|.|^2 = 1
    shared = rng.standard_normal(dim).astype(np.float32)
    shared *= SHARED_WEIGHT / np.linalg.norm(shared)
    n_clusters = max(8, n // POINTS_PER_CLUSTER)
    centres = rng.standard_normal((n_clusters, dim)).astype(np.float32) @ shaping
    weights = rng.lognormal(0.0, 1.0, n_clusters)
    noise = rng.uniform(*NOISE_RANGE, n_clusters).astype(np.float32)
    # Documents of 1 + Poisson(CHUNKS_PER_DOC - 1) chunks, contiguous, shuffled at the end.
    sizes = 1 + rng.poisson(CHUNKS_PER_DOC - 1, size=n)
    docs = np.repeat(np.arange(n), sizes)[:n]
    labels = rng.choice(n_clusters, size=int(docs[-1]) + 1, p=weights / weights.sum())
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        doc = docs[start : start + 100_000]
        first = int(doc[0])
        anchors = rng.standard_normal((int(doc[-1]) - first + 1, dim), dtype=np.float32)
        anchor = anchors[doc - first] @ shaping
        z = rng.standard_normal((len(doc), dim), dtype=np.float32) @ shaping
        cluster = labels[doc]
        x = shared + centres[cluster] + noise[cluster, None] * anchor + CHUNK_NOISE * z
        out[start : start + len(doc)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out[rng.permutation(n)]


def load_real(path: Path) -> np.ndarray:
    """Unit vectors from a segment's ``vectors.npy`` or an IDMap2/Flat ``vectors.faiss`` file."""
    if path.suffix == ".npy":
        vectors = np.load(path, allow_pickle=False)
    elif path.suffix == ".faiss":
        index = faiss.read_index(str(path))
        inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
        vectors = inner.reconstruct_n(0, inner.ntotal)
    else:
        raise ValueError(f"{path}: unsupported suffix {path.suffix!r}; use .npy or .faiss")
    return np.ascontiguousarray(vectors, dtype=np.float32)


def make_data(
    n: int, real: list[Path], n_queries: int, seed: int, dim: int = DIM
) -> tuple[np.ndarray, np.ndarray, int]:
    """``(base (n, dim), queries (n_queries, dim), n_real_in_base)``."""
    rng = np.random.default_rng(seed)
    parts = [load_real(p) for p in real]
    real_vectors = np.vstack(parts) if parts else np.zeros((0, dim), np.float32)
    if real_vectors.shape[1] != dim:
        raise ValueError(f"real vectors have dimension {real_vectors.shape[1]}, expected {dim}")
    real_vectors = real_vectors[rng.permutation(len(real_vectors))]
    n_real_q = min(n_queries // 2, len(real_vectors) // 10)
    real_q, real_base = real_vectors[:n_real_q], real_vectors[n_real_q : n_real_q + n]
    n_synth = n - len(real_base)
    synth = synthetic_vectors(n_synth + n_queries - n_real_q, dim, seed + 1)
    base = np.vstack([real_base, synth[:n_synth]])
    queries = np.vstack([real_q, synth[n_synth:]])
    return base, queries, len(real_base)


@dataclass(frozen=True)
class Config:
    """A FAISS factory string plus the search settings each one row reports."""

    factory: str
    settings: tuple[int, ...] = (0,)  # efSearch (HNSW) or nprobe (IVF); 0: none

    @property
    def param(self) -> str:
        return "efSearch" if self.factory.startswith("HNSW") else "nprobe"


def default_configs(n: int) -> dict[str, Config]:
    nlist = default_nlist(n)
    return {
        "flat": Config("Flat"),
        "hnsw32-flat": Config("HNSW32,Flat", (32, 64, 128)),
        "hnsw16-sq8": Config("HNSW16,SQ8", (32, 64, 128, 256)),
        "hnsw32-sq8": Config("HNSW32,SQ8", (64, 128, 256)),
        "ivf-sq8": Config(f"IVF{nlist},SQ8", (16, 32, 64, 128)),
        "ivf-pq48": Config(f"IVF{nlist},PQ48", (32, 64, 128)),
        "ivf-pq64": Config(f"IVF{nlist},PQ64", (32, 64, 128)),
    }


def build(config: Config, base: np.ndarray, seed: int, ef_construction: int = 40) -> faiss.Index:
    """The index for ``config`` holding ``base`` under ids 0..n-1 (IVF keeps its own ids)."""
    dim = base.shape[1]
    index = faiss.index_factory(dim, config.factory, faiss.METRIC_INNER_PRODUCT)
    ids = np.arange(len(base), dtype=np.int64)
    if config.factory.startswith("IVF"):
        ivf: Any = faiss.downcast_index(faiss.extract_index_ivf(index))
        ivf.cp.niter = 10
        ivf.cp.seed = seed
        if hasattr(ivf, "do_polysemous_training"):
            ivf.do_polysemous_training = False  # minutes on 2 cores, unused by plain search
        sample = np.random.default_rng(seed).permutation(len(base))[: 40 * ivf.nlist]
        index.train(base[np.sort(sample)])
        index.add_with_ids(base, ids)
        return index
    if config.factory.startswith("HNSW"):
        hnsw: Any = faiss.downcast_index(index)
        hnsw.hnsw.efConstruction = ef_construction
    if not index.is_trained:
        index.train(base)
    wrapped = faiss.IndexIDMap2(index)
    wrapped.add_with_ids(base, ids)
    return wrapped


def search_params(config: Config, setting: int) -> faiss.SearchParameters | None:
    if not setting:
        return None
    if config.param == "efSearch":
        return faiss.SearchParametersHNSW(efSearch=setting)  # type: ignore[attr-defined]
    return faiss.SearchParametersIVF(nprobe=setting)  # type: ignore[call-arg]


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def _latencies(
    index: faiss.Index, queries: np.ndarray, params: faiss.SearchParameters | None
) -> np.ndarray:
    times = []
    for q in queries:
        q1 = q[None, :]
        start = time.perf_counter()
        index.search(q1, K, params=params)
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000.0


def run_ann_study(
    n: int,
    real: list[Path],
    queries: int,
    configs: list[str] | None = None,
    seed: int = 0,
    *,
    threads: int = 1,
    build_threads: int = 2,
    latency_queries: int = 300,
) -> list[dict[str, Any]]:
    """One row per (config, search setting): config, n, build_s, bytes_per_vector,
    recall_at_10, p50_ms, p99_ms (plus factory, setting, threads, n_real, load1).

    Latency is measured one query at a time with ``threads`` OpenMP threads (1 by default: HNSW
    and IVF search one query on one thread anyway, and on a shared 2-core machine a second
    spinning OpenMP thread only adds contention); building and the exact ground truth use
    ``build_threads``.
    """
    available = default_configs(n)
    names = configs or list(available)
    unknown = [c for c in names if c not in available]
    if unknown:
        raise ValueError(f"unknown ANN configs {unknown}; valid: {', '.join(available)}")
    base, qs, n_real = make_data(n, real, queries, seed)
    logger.info("data: %d base (%d real), %d queries", len(base), n_real, len(qs))
    faiss.omp_set_num_threads(build_threads)
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(base)
    _, truth = exact.search(qs, K)
    del exact
    rows: list[dict[str, Any]] = []
    timed = qs[: min(latency_queries, len(qs))]
    for name in names:
        config = available[name]
        faiss.omp_set_num_threads(build_threads)
        start = time.perf_counter()
        index = build(config, base, seed)
        build_s = time.perf_counter() - start
        size = len(faiss.serialize_index(index))
        logger.info("%s: built in %.1f s, %.0f bytes/vector", name, build_s, size / n)
        faiss.omp_set_num_threads(threads)
        for setting in config.settings:
            params = search_params(config, setting)
            _, found = index.search(qs, K, params=params)
            ms = _latencies(index, timed, params)
            row = {
                "config": f"{name} {config.param}={setting}" if setting else name,
                "factory": config.factory,
                "setting": setting,
                "n": n,
                "n_real": n_real,
                "build_s": round(build_s, 2),
                "bytes_per_vector": round(size / n, 1),
                "recall_at_10": round(recall_at_k(found, truth), 4),
                "p50_ms": round(float(np.percentile(ms, 50)), 3),
                "p99_ms": round(float(np.percentile(ms, 99)), 3),
                "threads": threads,
                "load1": round(os.getloadavg()[0], 2),
            }
            logger.info("%s", row)
            rows.append(row)
        del index
    return rows


COLUMNS = ("config", "n", "build_s", "bytes_per_vector", "recall_at_10", "p50_ms", "p99_ms")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for factory in dict.fromkeys(r["factory"] for r in rows):
        mine = [r for r in rows if r["factory"] == factory]
        ax.plot([r["p50_ms"] for r in mine], [r["recall_at_10"] for r in mine], "o-", label=factory)
    ax.set_xscale("log")
    ax.set_xlabel("single-query p50 (ms)")
    ax.set_ylabel("recall@10 vs exact")
    ax.axhline(0.95, color="grey", lw=0.5)
    ax.axvline(20, color="grey", lw=0.5)
    ax.legend(fontsize=7)
    ax.set_title(f"ANN on n={rows[0]['n']:,}, {rows[0]['threads']} threads")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.ann", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="base vectors")
    parser.add_argument("--real", type=Path, nargs="*", default=[], help=".npy / .faiss files")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--config", action="append", help="repeatable; default: all")
    parser.add_argument("--threads", type=int, default=1, help="search threads (single query)")
    parser.add_argument("--build-threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("ann-out"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rows = run_ann_study(
        args.n,
        args.real,
        args.queries,
        args.config,
        args.seed,
        threads=args.threads,
        build_threads=args.build_threads,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {
        "n": args.n,
        "real": [str(p) for p in args.real],
        "queries": args.queries,
        "threads": args.threads,
        "build_threads": args.build_threads,
        "cpus": os.cpu_count(),
        "faiss": faiss.__version__,
    }
    (args.out / "ann.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    table = markdown_table(rows)
    (args.out / "ann.md").write_text(table)
    plot(rows, args.out / "ann.png")
    print(table)


if __name__ == "__main__":
    main()
