"""Large segments get a stored ANN index (chosen by size, recorded in the manifest); small ones
stay exact; deletions and filters hold across both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.filters import Filters
from indexer.index import open_index
from indexer.stores import StoreOptions
from indexer.types import Article
from indexer.update import UpdateOptions, update_index
from indexer.versions import current_version
from tests.fakes import HashingEmbedder

WORDS = "harbour storm rates bank vaccine museum railway election budget orchestra river".split()


def article(i: int) -> Article:
    rng = np.random.default_rng(i)
    sentences = [
        " ".join(rng.choice(WORDS, size=8)).capitalize() + f" number {i}." for _ in range(3)
    ]
    return Article(id=f"a{i}", title=f"Story {i}", text=" ".join(sentences), source=f"s{i % 2}")


@pytest.fixture
def small_threshold() -> StoreOptions:
    """Segments of 150+ vectors (64-d: 150 * 64 / 384 = 25 at 384-d) get an ANN index."""
    return StoreOptions(exact_max_vectors=25)


def test_the_index_type_is_chosen_by_segment_size(
    tmp_path: Path, small_threshold: StoreOptions
) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    options = UpdateOptions(progress=False, store=small_threshold)
    update_index(index_dir, embedder, [article(i) for i in range(400)], options=options)
    update_index(index_dir, embedder, [article(i) for i in range(400, 403)], options=options)
    _, folder = current_version(index_dir)
    index = open_index(index_dir)
    big, small = index.manifest.segments
    assert (
        big.vector_index.startswith("faiss:IVF")
        and (folder / "segments/s000001/ann.faiss").is_file()
    )
    assert small.vector_index.startswith("faiss:IDMap2,Flat")
    assert "1 of 2 segments approximate" in index.manifest.vector_index
    assert "segments/s000001/ann.faiss" in index.manifest.files
    assert index.vectors.size == index.counts["chunks"]

    # Approximate search finds (nearly) what exact search over the same vectors finds.
    ids = np.asarray(index.store.chunk_ids())
    exact = index.chunk_vectors(ids.tolist())
    queries = embedder.embed_documents([f"{WORDS[i]} {WORDS[i + 1]} storm" for i in range(8)])
    found = 0
    for query in queries:
        truth = set(ids[np.argsort(-(exact @ query))[:10]].tolist())
        found += len(truth & {h.chunk_id for h in index.dense(query, 10)})
    assert found / 80 >= 0.9


def test_deletions_and_filters_hold_in_an_ann_segment(
    tmp_path: Path, small_threshold: StoreOptions
) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    options = UpdateOptions(progress=False, max_segments=8, store=small_threshold)
    update_index(index_dir, embedder, [article(i) for i in range(400)], options=options)
    gone = [f"a{i}" for i in range(0, 400, 4)]
    update_index(index_dir, embedder, delete=gone, options=options)
    index = open_index(index_dir)
    assert index.manifest.segments[0].deleted_articles == 100
    query = embedder.embed_documents(["harbour storm rates number"])[0]
    hits = index.dense(query, 300)
    chunks = index.chunks([h.chunk_id for h in hits])
    assert len(hits) == 300 and not {c.article_id for c in chunks.values()} & set(gone)
    allowed = index.allowed(Filters(source="s1"))
    assert allowed is not None
    filtered = index.chunks([h.chunk_id for h in index.dense(query, 20, allowed)])
    assert len(filtered) == 20 and {c.source for c in filtered.values()} == {"s1"}
    assert not {c.article_id for c in filtered.values()} & set(gone)
