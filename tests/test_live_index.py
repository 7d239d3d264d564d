"""Incremental updates: only what changed is embedded, versions share data, results equal a
fresh build, old versions go after their grace period, and nothing in the index is a pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from indexer.index import Index, open_index
from indexer.types import Article
from indexer.update import UpdateOptions, update_index
from indexer.versions import POINTER, VERSIONS, current_version, published_versions
from tests.fakes import HashingEmbedder

TOPICS = ["rates", "harvest", "election", "storm", "museum", "railway", "vaccine", "orchestra"]


def article(i: int, variant: int = 0) -> Article:
    topic = TOPICS[i % len(TOPICS)]
    text = (
        f"The {topic} report number {i} was published on Monday. "
        f"Officials said the {topic} figures for region {i % 3} changed in version {variant}. "
        f"Critics asked why the {topic} plan was delayed again. "
        f"A spokesperson promised an answer by the end of the month."
    )
    return Article(id=f"story-{i}", title=f"{topic.title()} story {i}", text=text, source="Wire")


class CountingEmbedder(HashingEmbedder):
    """The fake embedder, counting the texts it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded = 0

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        return super().embed_documents(texts)


def chunk_texts(index: Index, article_id: str) -> list[str]:
    chunks = index.chunks(index.store.chunk_ids()).values()
    return [c.text for c in sorted(chunks, key=lambda c: c.id) if c.article_id == article_id]


OPTIONS = UpdateOptions(progress=False, grace_s=3600, keep_versions=2)


def results(index: Index, query: str) -> list[tuple[str, int, int, float]]:
    """Every chunk's dense and BM25 score, in a form independent of chunk ids (which differ
    between builds; ties are ordered by chunk id, hence the sort)."""
    embedder = HashingEmbedder()
    dense = index.dense(embedder.embed_documents([query])[0], 1000)
    lexical = index.bm25(query, 1000)
    out = []
    for hits in (dense, lexical):
        chunks = index.chunks([h.chunk_id for h in hits])
        out += sorted(
            (
                chunks[h.chunk_id].article_id,
                chunks[h.chunk_id].start,
                chunks[h.chunk_id].end,
                round(h.score, 5),
            )
            for h in hits
        )
    return out


def test_only_changes_are_embedded_and_unchanged_articles_are_skipped(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", CountingEmbedder()
    first = update_index(index_dir, embedder, [article(i) for i in range(6)], options=OPTIONS)
    assert first.added == [f"story-{i}" for i in range(6)] and embedder.embedded == first.chunks
    embedder.embedded = 0
    again = update_index(index_dir, embedder, [article(i) for i in range(6)], options=OPTIONS)
    assert again.up_to_date and again.version == first.version and embedder.embedded == 0
    assert len(again.unchanged) == 6
    before = chunk_texts(open_index(index_dir), "story-2")
    changed = update_index(
        index_dir, embedder, [article(2, variant=1), article(9)], options=OPTIONS
    )
    assert changed.updated == ["story-2"] and changed.added == ["story-9"]
    # Exactly the chunks with new text were embedded; the others came from the cache.
    index = open_index(index_dir)
    after = chunk_texts(index, "story-2")
    new_texts = len(set(after) - set(before)) + len(chunk_texts(index, "story-9"))
    assert embedder.embedded == changed.embedded == new_texts
    assert len(set(after) & set(before)) >= 1
    assert index.counts["articles"] == 7
    assert "version 1" in index.article("story-2").text

    removed = update_index(index_dir, embedder, delete=["story-0", "nope"], options=OPTIONS)
    assert removed.deleted == ["story-0"] and removed.not_found == ["nope"]
    index = open_index(index_dir)
    assert index.counts["articles"] == 6
    assert all(c.article_id != "story-0" for c in index.chunks(index.store.chunk_ids()).values())


def test_rechunking_reuses_every_known_embedding(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", CountingEmbedder()
    update_index(index_dir, embedder, [article(i) for i in range(5)], options=OPTIONS)
    update_index(index_dir, embedder, [], options=UpdateOptions(progress=False, chunk_overlap=0))
    embedder.embedded = 0
    # Back to the first chunking: every chunk text is known to the cache.
    report = update_index(index_dir, embedder, [], options=OPTIONS)
    assert report.rebuilt and report.chunks > 0 and embedder.embedded == 0
    assert open_index(index_dir).counts["articles"] == 5


def test_updates_give_the_same_results_as_a_fresh_build(tmp_path: Path) -> None:
    """The exact oracle: a chain of adds, updates and deletes (with merges) answers every query
    exactly like one build of the final articles."""
    live_dir, embedder = tmp_path / "live", HashingEmbedder()
    options = UpdateOptions(progress=False, max_segments=3)
    final = {i: article(i) for i in range(4)}
    update_index(live_dir, embedder, list(final.values()), options=options)
    for step in range(6):
        new = [article(10 + step), article(step % 4, variant=step + 1)]
        final.update({10 + step: new[0], step % 4: new[1]})
        gone = [f"story-{10 + step - 2}"] if step >= 2 else []
        for name in gone:
            final.pop(int(name.split("-")[1]))
        update_index(live_dir, embedder, new, delete=gone, options=options)
    fresh_dir = tmp_path / "fresh"
    update_index(fresh_dir, embedder, list(final.values()), options=options)
    live, fresh = open_index(live_dir), open_index(fresh_dir)
    assert live.counts == fresh.counts
    assert len(results(live, "report")) > live.counts["chunks"]  # every chunk, dense and bm25
    assert len(live.manifest.segments) <= 3
    for query in ["rates report Monday", "storm plan delayed", "museum version 4", "spokesperson"]:
        assert results(live, query) == results(fresh, query)


def test_a_small_change_shares_the_unchanged_segment_files(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    update_index(index_dir, embedder, [article(i) for i in range(5)], options=OPTIONS)
    _, first = current_version(index_dir)
    update_index(index_dir, embedder, [article(7)], options=OPTIONS)
    _, second = current_version(index_dir)
    for name in ("store.sqlite", "vectors.npy", "chunk_ids.npy"):
        old, new = first / "segments/s000001" / name, second / "segments/s000001" / name
        assert old.stat().st_ino == new.stat().st_ino  # one file on disk, not a copy
    assert (second / "segments/s000002/store.sqlite").is_file()


def test_old_versions_are_collected_after_the_grace_period(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    keep = UpdateOptions(progress=False, grace_s=3600, keep_versions=2)
    for i in range(4):
        update_index(index_dir, embedder, [article(i)], options=keep)
    assert len(published_versions(index_dir)) == 4  # all inside the grace period
    # A version left by a writer killed between rename and pointer swap is never served.
    orphan = index_dir / VERSIONS / "v000099-20990101T000000Z"
    orphan.mkdir()
    update_index(
        index_dir, embedder, [article(5)], options=UpdateOptions(progress=False, grace_s=0)
    )
    names = published_versions(index_dir)
    assert len(names) == 2 and names[-1] == current_version(index_dir)[0]
    assert not orphan.exists()
    assert open_index(index_dir).counts["articles"] == 5


def test_no_file_of_the_index_is_a_pickle(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    update_index(index_dir, embedder, [article(i) for i in range(5)], options=OPTIONS)
    update_index(index_dir, embedder, [article(8)], delete=["story-1"], options=OPTIONS)
    _, folder = current_version(index_dir)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        head = path.read_bytes()[:16]
        kind = (
            "npy"
            if head.startswith(b"\x93NUMPY")
            else "sqlite"
            if head.startswith(b"SQLite format 3\x00")
            else "json"
            if head.lstrip()[:1] in (b"{", b"[")
            else "other"
        )
        assert kind != "other", f"{path} is neither .npy, SQLite nor JSON: {head!r}"
        if kind == "npy":
            np.load(path, allow_pickle=False)  # raises on an object (pickled) array


def cli(*args: str) -> Result:
    """`cited ARGS` in process (verify loads no model)."""
    from cited.cli import app

    return CliRunner().invoke(app, list(args))


def test_cited_verify_passes_and_names_a_damaged_file(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    update_index(index_dir, embedder, [article(i) for i in range(5)], options=OPTIONS)
    update_index(index_dir, embedder, [article(6)], options=OPTIONS)
    done = cli("verify", "--index", str(index_dir), "--all")
    assert done.exit_code == 0, done.stderr
    assert done.stdout.count("ok v0000") == 2
    _, folder = current_version(index_dir)
    damaged = folder / "segments/s000002/vectors.npy"
    data = bytearray(damaged.read_bytes())
    data[-3] ^= 0x10
    damaged.write_bytes(bytes(data))
    done = cli("verify", "--index", str(index_dir))
    assert done.exit_code == 1
    assert "FAILED" in done.stderr and "segments/s000002/vectors.npy" in done.stderr
    (index_dir / POINTER).unlink()
    done = cli("verify", "--index", str(index_dir))
    assert done.exit_code == 1 and "cited index" in done.stderr


@pytest.mark.parametrize("wait", [0.2])
def test_a_second_writer_waits_for_the_lock(tmp_path: Path, wait: float) -> None:
    from indexer.errors import IndexBusyError
    from indexer.versions import writer_lock

    index_dir = tmp_path / "index"
    with writer_lock(index_dir), pytest.raises(IndexBusyError, match="another writer"):
        update_index(
            index_dir,
            HashingEmbedder(),
            [article(1)],
            options=UpdateOptions(progress=False, lock_wait_s=wait),
        )


def test_a_lost_pointer_is_refused_not_taken_for_an_empty_index(tmp_path: Path) -> None:
    from indexer.errors import IndexIntegrityError

    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    update_index(index_dir, embedder, [article(1)], options=OPTIONS)
    update_index(index_dir, embedder, [article(2)], options=OPTIONS)
    (index_dir / POINTER).unlink()
    with pytest.raises(IndexIntegrityError, match="restore the pointer"):
        update_index(index_dir, embedder, [article(3)], options=OPTIONS)
    assert len(published_versions(index_dir)) == 2  # nothing deleted
