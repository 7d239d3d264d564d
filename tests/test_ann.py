"""The approximate vector backend (IVF-SQ8, HNSW-SQ8) against the exact one; the ANN study."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.ann import run_ann_study, synthetic_vectors
from indexer.stores.base import EXACT_MAX_VECTORS, wants_approximate
from indexer.stores.faiss_ann import FILTER_EXACT_BELOW, METHODS, FaissAnnIndex
from indexer.stores.faiss_flat import FaissFlatIndex

DIM = 384
N = 20_000
TIE = 4e-3


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors = synthetic_vectors(N + 100, DIM, seed=3)
    ids = np.arange(N, dtype=np.int64) * 3 + 7  # ids are not positions
    return ids, vectors[:N], vectors[N:]


@pytest.fixture(scope="module")
def flat(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> FaissFlatIndex:
    ids, base, _ = data
    index = FaissFlatIndex(DIM)
    index.add(ids, base)
    return index


@pytest.fixture(scope="module", params=METHODS)
def ann(
    request: pytest.FixtureRequest, data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> FaissAnnIndex:
    ids, base, _ = data
    index = FaissAnnIndex(DIM, method=request.param, nlist=256)
    index.add(ids, base)
    return index


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return sum(
        len(set(f) & set(t)) for f, t in zip(found.tolist(), truth.tolist(), strict=True)
    ) / (truth.size)


def test_ann_recall_against_flat(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], flat: FaissFlatIndex, ann: FaissAnnIndex
) -> None:
    _, _, queries = data
    _, truth = flat.search(queries, 10)
    scores, found = ann.search(queries, 10)
    assert ann.size == N
    assert recall(found, truth) >= 0.9
    assert np.all(np.diff(scores, axis=1) <= 1e-6)
    assert ann.kind in (
        "faiss:IVF256,SQ8,IP,nprobe=32",
        "faiss:IDMap2,HNSW16,SQ8,IP,efConstruction=40,efSearch=128",
    )


def test_filtered_search_returns_only_allowed_ids(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], ann: FaissAnnIndex
) -> None:
    ids, _, queries = data
    rng = np.random.default_rng(0)
    allowed = np.sort(rng.choice(ids, FILTER_EXACT_BELOW // 4, replace=False))
    _, found = ann.search(queries[:20], 10, allowed)
    assert set(found.ravel().tolist()) <= set(allowed.tolist())
    assert (found >= 0).all()


@pytest.mark.parametrize("method", METHODS)
def test_filtered_search_above_exact_limit_uses_the_index(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    ids, base, queries = data
    index = FaissAnnIndex(DIM, method=method)
    index.add(ids[:5000], base[:5000])
    monkeypatch.setattr("indexer.stores.faiss_ann.FILTER_EXACT_BELOW", 100)
    allowed = ids[:5000:2]
    _, found = index.search(queries[:20], 10, allowed)
    assert set(found.ravel().tolist()) <= set(allowed.tolist())
    assert (found >= 0).mean() > 0.9


def test_small_allowed_set_matches_flat_exactly(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], flat: FaissFlatIndex, ann: FaissAnnIndex
) -> None:
    """Exact over the allowed ids: the flat backend's results up to SQ8 rounding (~1e-3), i.e.
    only near-ties (true scores within TIE of each other) may trade places."""
    ids, base, queries = data
    rng = np.random.default_rng(1)
    allowed = np.sort(np.append(rng.choice(ids, 300, replace=False), [-5, 10**12]))  # 2 unknown
    flat_scores, flat_ids = flat.search(queries, 10, allowed)
    scores, found = ann.search(queries, 10, allowed)
    assert np.allclose(scores, flat_scores, atol=TIE)
    true = np.einsum("qd,qkd->qk", queries, base[(found - 7) // 3])  # true scores of our ids
    assert np.allclose(true, flat_scores, atol=TIE)  # same ranks, or ties within TIE
    assert recall(found, flat_ids) >= 0.95  # the same ids, bar near-ties at the cut-off
    few = allowed[1:4]  # fewer allowed ids than k: padded with -1 like FAISS
    _, found = ann.search(queries[:2], 10, few)
    assert sorted(found[0, :3].tolist()) == sorted(few.tolist()) and (found[:, 3:] == -1).all()


def test_save_load_round_trip(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], ann: FaissAnnIndex, tmp_path: Path
) -> None:
    _, _, queries = data
    path = tmp_path / "vectors.faiss"
    ann.save(path)
    loaded = FaissAnnIndex.load(path, DIM)
    assert loaded.kind == ann.kind and loaded.size == ann.size
    for a, b in zip(ann.search(queries, 10), loaded.search(queries, 10), strict=True):
        assert np.array_equal(a, b)
    with pytest.raises(Exception, match="dimension 384, expected 128"):
        FaissAnnIndex.load(path, 128)


def test_reconstruct_is_close(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], ann: FaissAnnIndex
) -> None:
    ids, base, _ = data
    got = ann.reconstruct([int(ids[5]), int(ids[17])])
    assert got.shape == (2, DIM)
    assert np.abs(got - base[[5, 17]]).max() < 0.01
    assert ann.reconstruct([]).shape == (0, DIM)


def test_empty_index_and_bad_arguments() -> None:
    for method in METHODS:
        index = FaissAnnIndex(8, method=method)
        _, found = index.search(np.ones(8, dtype=np.float32), 5)
        assert (found == -1).all() and index.size == 0
    with pytest.raises(ValueError, match=r"'pq'.*ivf-sq8, hnsw-sq8"):
        FaissAnnIndex(8, method="pq")


def test_the_size_rule() -> None:
    assert not wants_approximate(0, 384)
    assert not wants_approximate(EXACT_MAX_VECTORS - 1, 384)
    assert wants_approximate(EXACT_MAX_VECTORS, 384)
    assert wants_approximate(1_000_000, 384)
    assert not wants_approximate(EXACT_MAX_VECTORS, 192)  # cost scales with dim
    assert wants_approximate(25, 384, exact_max_vectors=25)
    with pytest.raises(ValueError, match="-1"):
        wants_approximate(-1, 384)


def test_study_runs_on_tiny_n() -> None:
    rows = run_ann_study(2000, [], 40, ["flat", "hnsw16-sq8"], seed=0, latency_queries=10)
    keys = {"config", "n", "build_s", "bytes_per_vector", "recall_at_10", "p50_ms", "p99_ms"}
    assert rows and all(keys <= row.keys() for row in rows)
    assert rows[0]["config"] == "flat" and rows[0]["recall_at_10"] == 1.0
    assert all(0.0 <= row["recall_at_10"] <= 1.0 and row["n"] == 2000 for row in rows)
    with pytest.raises(ValueError, match="nope"):
        run_ann_study(100, [], 10, ["nope"])
