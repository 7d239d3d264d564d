"""The index folder: manifest, checksums, counts, model checks and atomic publishing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.errors import IndexIntegrityError, IndexMismatchError, IndexNotFoundError
from indexer.index import open_index
from indexer.manifest import MANIFEST, read_manifest
from indexer.versions import POINTER, current_version, published_versions, start_version
from tests.fakes import HashingEmbedder

ARTICLE = """Markets

Central bank holds rates

Policy makers wait for more data

By Jane Doe in London 2 HOURS AGO

The central bank held interest rates at 5 per cent on Thursday. Officials said inflation was
still too high. The decision was expected by most economists.

Governor Smith said the bank would act if prices kept rising. Markets rose after the news.
"""


STORE_FILE = "segments/s000001/store.sqlite"
VECTORS_FILE = "segments/s000001/vectors.npy"


def write_corpus(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"story-{i}.txt").write_text(ARTICLE.replace("5 per cent", f"{i + 4} per cent"))
    return folder


@pytest.fixture
def built(tmp_path: Path, fake_embedder: HashingEmbedder) -> Path:
    index_dir = tmp_path / "index"
    build_index([write_corpus(tmp_path / "corpus")], index_dir, fake_embedder, progress=False)
    return index_dir


def test_manifest_describes_the_version(built: Path, fake_embedder: HashingEmbedder) -> None:
    name, folder = current_version(built)
    manifest = read_manifest(folder)
    assert manifest.version == name
    assert manifest.model.name == fake_embedder.name and manifest.model.dim == fake_embedder.dim
    assert manifest.counts["articles"] == 3
    assert manifest.chunking.overlap_sentences == 1
    assert {STORE_FILE, VECTORS_FILE, "bm25/chunk_ids.npy", "bm25/vocab.index.json"} <= set(
        manifest.files
    )
    assert manifest.lexical_index.startswith("bm25s")
    index = open_index(built)
    assert index.counts == manifest.counts
    assert index.vectors.size == manifest.counts["chunks"]
    # Every stored chunk slices back to its article.
    for chunk in index.store.chunks(index.store.chunk_ids()).values():
        assert index.article(chunk.article_id).text[chunk.start : chunk.end] == chunk.text


@pytest.mark.parametrize("name", [STORE_FILE, VECTORS_FILE, "bm25/data.csc.index.npy"])
def test_a_changed_byte_is_refused(built: Path, name: str) -> None:
    _, folder = current_version(built)
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexIntegrityError, match=name):
        open_index(built)


def test_a_truncated_file_is_refused(built: Path) -> None:
    _, folder = current_version(built)
    path = folder / VECTORS_FILE
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IndexIntegrityError, match="truncated"):
        open_index(built)


def test_an_edited_manifest_count_is_refused(built: Path) -> None:
    _, folder = current_version(built)
    data = json.loads((folder / MANIFEST).read_text())
    data["counts"]["chunks"] += 1
    (folder / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(IndexIntegrityError, match="counts disagree"):
        open_index(built)


def test_another_model_is_refused(built: Path) -> None:
    index = open_index(built)
    with pytest.raises(IndexMismatchError, match="test/hashing"):
        index.check_model("sentence-transformers/all-MiniLM-L6-v2", 64)
    with pytest.raises(IndexMismatchError, match="64-d"):
        index.check_model("test/hashing", 384)


def test_no_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="cited index"):
        open_index(tmp_path / "nothing")


def test_unchanged_corpus_is_not_rebuilt(tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    first = build_index([corpus], index_dir, fake_embedder, progress=False)
    again = build_index([corpus], index_dir, fake_embedder, progress=False)
    assert again.up_to_date and again.version == first.version
    (corpus / "story-0.txt").write_text(ARTICLE.replace("Thursday", "Friday"))
    changed = build_index([corpus], index_dir, fake_embedder, progress=False)
    assert not changed.up_to_date and changed.version != first.version
    rechunked = build_index([corpus], index_dir, fake_embedder, chunk_overlap=0, progress=False)
    assert not rechunked.up_to_date
    assert len(published_versions(index_dir)) == 3


def test_a_half_written_version_is_never_current(
    tmp_path: Path, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    first = build_index([corpus], index_dir, fake_embedder, progress=False)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk died while writing the vectors")

    (corpus / "story-9.txt").write_text(ARTICLE)
    monkeypatch.setattr("indexer.lexical.bm25.BM25Index.save", crash)
    with pytest.raises(OSError, match="disk died"):
        build_index([corpus], index_dir, fake_embedder, progress=False)
    # The pointer still names the first version, which still opens and verifies.
    assert current_version(index_dir)[0] == first.version
    assert open_index(index_dir).counts["articles"] == 3
    assert published_versions(index_dir) == [first.version]
    # The next build clears the leftover and publishes the next number.
    monkeypatch.undo()
    second = build_index([corpus], index_dir, fake_embedder, progress=False)
    assert second.version and second.version.startswith("v000002-")
    assert not list((index_dir / "versions").glob(".tmp-*"))
    assert open_index(index_dir).counts["articles"] == 4


def test_the_pointer_is_replaced_not_rewritten(built: Path) -> None:
    pointer = built / POINTER
    inode = pointer.stat().st_ino
    name, building = start_version(built)
    assert building.name.startswith(".tmp-") and name.startswith("v000002-")
    assert (built / POINTER).stat().st_ino == inode  # starting a build touches nothing published


def test_a_new_model_rebuilds_every_article_the_index_holds(tmp_path: Path) -> None:
    """An update with another model (another dimension) re-embeds the stored articles too."""
    from indexer.types import Article
    from indexer.update import update_index

    index_dir = tmp_path / "index"
    build_index([write_corpus(tmp_path / "corpus")], index_dir, HashingEmbedder(), progress=False)
    other = HashingEmbedder(dim=32, name="test/hashing-32")
    added = Article("extra", "Extra", "Wheat prices fell again on Friday.")
    report = update_index(index_dir, other, [added])
    assert report.added == ["extra"] and report.rebuilt
    index = open_index(index_dir)
    try:
        assert index.manifest.model.name == other.name and index.manifest.model.dim == 32
        assert index.counts["articles"] == 4
        hits = index.dense(other.embed_query("central bank interest rates"), k=3)
        found = index.chunks([h.chunk_id for h in hits])
        assert {found[h.chunk_id].article_id for h in hits} <= {"story-0", "story-1", "story-2"}
    finally:
        index.close()
