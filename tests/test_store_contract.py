"""The vector store contract: ONE suite that every registered backend must pass (FAISS, exact
and approximate, and the numpy store of ``tests/numpy_store.py``), against an exact oracle."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import tests.numpy_store  # noqa: F401  (registers the numpy backend)
from indexer.errors import IndexIntegrityError, IndexMismatchError
from indexer.index import open_index
from indexer.stores import BACKENDS, StoredSegment, StoreOptions, VectorStore, create_store
from indexer.types import Article
from indexer.update import UpdateOptions, update_index
from tests.fakes import HashingEmbedder

DIM = 16
SECOND_DIM = 4
#: (backend, exact_max_vectors): every backend with the size rule choosing exact search, and
#: choosing approximate search for every segment (threshold 1).
CASES = [(name, limit) for name in sorted(BACKENDS) for limit in (100_000, 1)]
IDS = [f"{name}-{'exact' if limit > 1 else 'approximate'}" for name, limit in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def store(request: pytest.FixtureRequest) -> VectorStore:
    name, limit = request.param
    return create_store(name, {}, exact_max_vectors=limit)


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def corpus(n: int, start: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + 2 * n, 2, dtype=np.int64)  # gaps: ids are not positions
    return ids, unit(rng.normal(size=(n, DIM))), rng.normal(size=(n, SECOND_DIM)).astype(np.float32)


def write(
    store: VectorStore, folder: Path, ids: np.ndarray, vectors: np.ndarray, second: np.ndarray
) -> StoredSegment:
    folder.mkdir(parents=True)
    kind = store.write_segment(folder, ids, vectors, second)
    return StoredSegment(folder, kind, ids, ids)


def oracle(ids: np.ndarray, vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ query
    return ids[np.lexsort((ids, -scores))][:k].tolist()


def assert_top_k(
    store: VectorStore,
    found: list[int],
    ids: np.ndarray,
    vectors: np.ndarray,
    query: np.ndarray,
    k: int,
    kinds: list[str],
) -> None:
    """Exact stores return the oracle's ids; approximate ones may swap only near-ties (SQ8
    codes shift scores by ~1e-3), never miss a clearly better row."""
    want = oracle(ids, vectors, query, k)
    assert len(found) == len(want) == len(set(found))
    if not any(store.approximate(kind) for kind in kinds):
        assert found == want
        return
    scores = dict(zip(ids.tolist(), (vectors @ query).tolist(), strict=True))
    kth = scores[want[-1]]
    assert all(scores[i] >= kth - 0.02 for i in found)


def test_top_k_matches_the_exact_oracle(store: VectorStore, tmp_path: Path) -> None:
    a = write(store, tmp_path / "s1", *corpus(300, 1, seed=1))
    b = write(store, tmp_path / "s2", *corpus(40, 1001, seed=2))
    ids = np.concatenate([a.ids, b.ids])
    vectors = np.vstack([store.rows(s.folder, DIM, None).vectors for s in (a, b)])
    search = store.open([a, b], DIM, SECOND_DIM)
    assert search.size == len(ids)
    for query in unit(np.random.default_rng(3).normal(size=(20, DIM))):
        _, found = search.search(query, 10)
        hits = [int(i) for i in found[0] if i >= 0]
        assert_top_k(store, hits, ids, vectors, query, 10, [a.kind, b.kind])
    np.testing.assert_allclose(
        search.reconstruct([int(ids[5]), int(ids[-1])]), vectors[[5, -1]], atol=1e-6
    )
    search.close()


def test_filters_apply_before_the_cut_off(store: VectorStore, tmp_path: Path) -> None:
    ids, vectors, second = corpus(300, 1, seed=4)
    segment = write(store, tmp_path / "s1", ids, vectors, second)
    search = store.open([segment], DIM, None)
    query = unit(np.random.default_rng(5).normal(size=(1, DIM)))[0]
    few = ids[[3, 50, 77, 120, 299]]
    _, found = search.search(query, 10, few)
    assert sorted(int(i) for i in found[0] if i >= 0) == sorted(few.tolist())
    many = ids[::3]
    _, found = search.search(query, 10, many)
    hits = [int(i) for i in found[0] if i >= 0]
    assert set(hits) <= set(many.tolist())
    assert_top_k(store, hits, many, vectors[::3], query, 10, [segment.kind])


def test_deletes_and_updates(store: VectorStore, tmp_path: Path) -> None:
    ids, vectors, second = corpus(300, 1, seed=6)
    old = write(store, tmp_path / "s1", ids, vectors, second)
    # Rows 0-99 are deleted or updated: the updates live in a newer segment under new ids.
    new_ids, new_vectors, new_second = corpus(50, 10_001, seed=7)
    new = write(store, tmp_path / "s2", new_ids, new_vectors, new_second)
    old = StoredSegment(old.folder, old.kind, old.ids, old.ids[100:])
    search = store.open([old, new], DIM, SECOND_DIM)
    live_ids = np.concatenate([ids[100:], new_ids])
    live_vectors = np.vstack([vectors[100:], new_vectors])
    assert search.size == len(live_ids)
    for query in unit(np.random.default_rng(8).normal(size=(10, DIM))):
        _, found = search.search(query, 300)
        hits = [int(i) for i in found[0] if i >= 0]
        assert not set(hits) & set(ids[:100].tolist())
        assert_top_k(store, hits[:10], live_ids, live_vectors, query, 10, [old.kind, new.kind])
    np.testing.assert_allclose(
        search.second_vectors([int(new_ids[2]), int(ids[150])]),
        np.vstack([new_second[2], second[150]]),
        atol=1e-6,
    )


def test_reopen_after_close(store: VectorStore, tmp_path: Path) -> None:
    segment = write(store, tmp_path / "s1", *corpus(200, 1, seed=9))
    query = unit(np.random.default_rng(10).normal(size=(1, DIM)))
    first = store.open([segment], DIM, None)
    before = first.search(query, 10)
    first.close()
    again = store.open([segment], DIM, None)
    after = again.search(query, 10)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_allclose(before[0], after[0], atol=1e-6)


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_missing_or_damaged_resource_is_refused(
    store: VectorStore, tmp_path: Path, damage: str
) -> None:
    segment = write(store, tmp_path / "s1", *corpus(200, 1, seed=11))
    names = store.files(segment.folder, segment.kind)
    assert names and all((segment.folder / n).is_file() for n in names)
    for name in names:
        copy = tmp_path / f"{damage}-{name}"
        shutil.copytree(segment.folder, copy)
        if damage == "missing":
            (copy / name).unlink()
        else:
            data = (copy / name).read_bytes()
            (copy / name).write_bytes(data[: len(data) // 2])
        broken = StoredSegment(copy, segment.kind, segment.ids, segment.live_ids)
        with pytest.raises(IndexIntegrityError, match=name.replace(".", r"\.")):
            store.open([broken], DIM, SECOND_DIM)


def test_a_missing_ann_file_is_refused_not_searched_exactly(tmp_path: Path) -> None:
    store = create_store("faiss", {}, exact_max_vectors=1)
    segment = write(store, tmp_path / "s1", *corpus(200, 1, seed=12))
    assert store.approximate(segment.kind) and "ann.faiss" in store.files(
        segment.folder, segment.kind
    )
    (segment.folder / "ann.faiss").unlink()
    with pytest.raises(IndexIntegrityError, match=r"ann\.faiss: missing"):
        store.open([segment], DIM, None)


def test_unknown_backends_and_params_are_named() -> None:
    with pytest.raises(ValueError, match=r"'milvus'.*faiss.*numpy"):
        create_store("milvus")
    with pytest.raises(ValueError, match=r"\['bogus'\].*nprobe"):
        create_store("faiss", {"bogus": 1})


def article(i: int) -> Article:
    words = "harbour storm rates bank vaccine museum railway election budget".split()
    text = " ".join(words[(i + j) % len(words)] for j in range(12)) + f" number {i}."
    return Article(id=f"a{i}", title=f"Story {i}", text=text, source=f"s{i % 2}")


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_an_index_records_and_checks_its_store(name: str, tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    options = UpdateOptions(progress=False, store=StoreOptions(name=name))
    update_index(index_dir, embedder, [article(i) for i in range(30)], options=options)
    update_index(index_dir, embedder, [article(3), article(31)], delete=["a5"], options=options)
    index = open_index(index_dir, store=StoreOptions(name=name))
    assert index.manifest.store is not None and index.manifest.store.backend == name
    ids = np.asarray(index.store.chunk_ids())
    vectors = index.chunk_vectors(ids.tolist())
    query = embedder.embed_documents(["harbour storm rates"])[0]
    hits = index.dense(query, 5)
    found = [h.chunk_id for h in hits]
    scores = dict(zip(ids.tolist(), (vectors @ query).tolist(), strict=True))
    best = sorted(scores.values(), reverse=True)[:5]  # the texts repeat words: ties by score
    np.testing.assert_allclose([scores[i] for i in found], best, atol=1e-5)
    np.testing.assert_allclose([h.score for h in hits], best, atol=1e-5)
    index.close()
    other = "numpy" if name != "numpy" else "faiss"
    with pytest.raises(IndexMismatchError, match=rf"'{name}'.*'{other}'"):
        open_index(index_dir, store=StoreOptions(name=other))
