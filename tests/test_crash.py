"""Crash safety of the live index: an indexer killed with SIGKILL at random points of an update
(:mod:`tests.crash`, run here in-process; the killed workers are real processes) leaves a
version that verifies and serves, the previous or the new one; a damaged file of the newest
version is named by ``verify`` and spares the previous one."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.index import open_named_version
from indexer.types import Article
from indexer.update import UpdateOptions, update_index
from indexer.verify import verify_index
from indexer.versions import published_versions
from tests.crash.driver import crash_test
from tests.crash.layout_names import LEXICAL_DIR, SEGMENTS, VECTORS_FILE, VERSIONS, new_segment
from tests.crash.tally import summary
from tests.fakes import HashingEmbedder

KILLS = 20


def test_an_update_killed_at_random_points_leaves_the_previous_or_the_new_version(
    tmp_path: Path,
) -> None:
    work = tmp_path / "crash"
    work.mkdir()
    tally = crash_test(work, KILLS, seed=7, articles=200, spawn=False)
    result = summary(tally)
    assert tally.passed, (result, tally.problems[:20])
    assert result["kills"] == KILLS
    assert result["verify_failures"] == 0
    assert result["serve_failures"] == 0
    assert result["state_failures"] == 0
    assert result["worker_errors"] == 0
    assert result["final_ok"] is True
    assert result["previous"] > 0 and result["new"] > 0, result
    assert result["previous"] + result["new"] == KILLS
    assert result["cli_verifies"] == 3  # kills 10 and 20, and the final update


def article(i: int, variant: int = 0) -> Article:
    text = (
        f"The harbour report number {i} was published on Monday. "
        f"Officials said the figures for region {i % 3} changed in version {variant}. "
        "Critics asked why the plan was delayed again."
    )
    return Article(id=f"story-{i}", title=f"Harbour story {i}", text=text)


def _unshared_file(folder: Path, where: str) -> Path:
    """A file of the newest version that no other version links to."""
    if where == "bm25":
        candidates = sorted((folder / LEXICAL_DIR).glob("*.npy"))
    else:
        candidates = [folder / SEGMENTS / new_segment("000002") / VECTORS_FILE]
    unshared = [p for p in candidates if p.stat().st_nlink == 1]
    assert unshared, f"every candidate in {folder} is shared with another version"
    return unshared[-1]


@pytest.mark.parametrize("where", ["bm25", "segment"])
def test_a_damaged_file_of_the_newest_version_is_named_and_the_previous_one_opens(
    tmp_path: Path, where: str
) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    options = UpdateOptions(progress=False, grace_s=3600, keep_versions=2)
    update_index(index_dir, embedder, [article(i) for i in range(6)], options=options)
    update_index(
        index_dir, embedder, [article(6), article(1, variant=1)], ["story-2"], options=options
    )
    previous, newest = published_versions(index_dir)
    folder = index_dir / VERSIONS / newest
    damaged = _unshared_file(folder, where)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0x40
    damaged.write_bytes(bytes(data))

    ((name, problem, _),) = verify_index(index_dir)
    assert name == newest
    assert problem is not None and damaged.relative_to(folder).as_posix() in problem
    checked = {n: p for n, p, _ in verify_index(index_dir, all_versions=True)}
    assert checked[previous] is None and checked[newest] is not None
    index = open_named_version(index_dir, previous)
    try:
        assert index.version == previous
        assert index.counts["articles"] == 6
        assert index.article("story-2").id == "story-2"
    finally:
        index.close()
