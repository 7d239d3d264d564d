"""Damaged index files: found, never served, repaired without embedding again.

Versions share segment files through hard links, so these tests damage a file either of one
version only (a segment it wrote) or of every version (the shared first segment).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from cited.cli import app as cli_app
from cited.compose import Parts
from cited.config import Settings
from indexer.index import open_index
from indexer.repair import repair_index
from indexer.types import Article
from indexer.update import Recipe, UpdateOptions, update_index
from indexer.verify import verify_index
from indexer.versions import current_version
from service.app import create_app
from tests.fakes import HashingEmbedder
from tests.test_live_index import CountingEmbedder, article, results

OPTIONS = UpdateOptions(progress=False, grace_s=3600, keep_versions=3)


def flip(path: Path, at: int = -3) -> bytes:
    """Flip one bit of ``path`` at byte ``at``; returns the bytes it had."""
    before = path.read_bytes()
    data = bytearray(before)
    data[at] ^= 0x10
    path.write_bytes(bytes(data))
    return before


def flip_text(path: Path, text: str) -> None:
    """Change the case of the first letter of ``text`` where ``path`` holds it."""
    data = bytearray(path.read_bytes())
    at = data.find(text.encode())
    assert at >= 0, f"{text!r} not in {path}"
    data[at] ^= 0x20
    path.write_bytes(bytes(data))


def two_versions(index_dir: Path, embedder: HashingEmbedder) -> tuple[str, str]:
    """Version 1 with stories 0-4 (segment s000001); version 2 adds story 5 (s000002)."""
    update_index(index_dir, embedder, [article(i) for i in range(5)], options=OPTIONS)
    first, _ = current_version(index_dir)
    update_index(index_dir, embedder, [article(5)], options=OPTIONS)
    second, _ = current_version(index_dir)
    return first, second


def segment_file(index_dir: Path, segment: str, name: str) -> Path:
    _, folder = current_version(index_dir)
    return folder / "segments" / segment / name


def settings_for(index_dir: Path, **changes: object) -> Settings:
    return Settings.of(index_dir=index_dir, reranker="none", reload_interval_s=0, **changes)


def cli(index_dir: Path, *args: str, embedder: HashingEmbedder | None = None) -> Result:
    parts = Parts(settings_for(index_dir), embedder=embedder or HashingEmbedder())
    return CliRunner().invoke(cli_app, list(args), obj=parts)


@pytest.fixture
def serve(tmp_path: Path) -> Callable[..., Iterator[TestClient]]:
    def start(**changes: object) -> Iterator[TestClient]:
        settings = settings_for(tmp_path / "index", **changes)
        with TestClient(create_app(settings, embedder=HashingEmbedder())) as client:
            yield client

    return start


def test_damage_in_the_served_version_turns_health_degraded_and_answers_go_on(
    tmp_path: Path, serve: Callable[..., Iterator[TestClient]]
) -> None:
    index_dir = tmp_path / "index"
    two_versions(index_dir, HashingEmbedder())
    for client in serve(verify_interval_s=0.05):
        assert client.get("/health").json()["status"] == "ok"
        damaged = segment_file(index_dir, "s000001", "vectors.npy")
        flip(damaged)
        deadline = time.monotonic() + 10
        while (health := client.get("/health").json())["status"] == "ok":
            assert time.monotonic() < deadline, "the scheduled check never found the damage"
            time.sleep(0.05)
        assert health["status"] == "degraded" and health["repair"] == "cited repair"
        assert len(health["damaged"]) == 1 and str(damaged) in health["damaged"][0]
        assert "sha256" in health["damaged"][0]
        # Answers go on from what the service holds.
        hits = client.post("/search", json={"query": "harbour rates report", "k": 3})
        assert hits.status_code == 200 and hits.json()["results"]

        # A repair publishes a version without the damaged file; the service moves to it.
        done = cli(index_dir, "repair")
        assert done.exit_code == 0, done.output
        client.app.state.live.refresh()  # type: ignore[attr-defined]
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["damaged"] == [] and health["repair"] is None


def test_serve_starts_on_the_newest_version_that_verifies(
    tmp_path: Path, serve: Callable[..., Iterator[TestClient]]
) -> None:
    index_dir = tmp_path / "index"
    first, second = two_versions(index_dir, HashingEmbedder())
    damaged = segment_file(index_dir, "s000002", "vectors.npy")  # version 2's own segment
    flip(damaged)
    for client in serve():
        health = client.get("/health").json()
        assert health["index_version"] == first and health["articles"] == 5
        assert health["status"] == "degraded"
        assert second in health["reload_error"] and str(damaged) in health["reload_error"]
        assert "cited repair" in health["reload_error"]


def test_serve_exits_with_the_repair_command_when_no_version_verifies(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    first, second = two_versions(index_dir, HashingEmbedder())
    flip(segment_file(index_dir, "s000001", "store.sqlite"))  # shared by both versions
    done = cli(index_dir, "serve")
    assert done.exit_code == 2
    assert first in done.stderr and second in done.stderr
    assert f"cited repair --index {index_dir}" in done.stderr


def test_a_refused_version_is_retried_when_its_files_change(
    tmp_path: Path, serve: Callable[..., Iterator[TestClient]]
) -> None:
    index_dir = tmp_path / "index"
    first, second = two_versions(index_dir, HashingEmbedder())
    damaged = segment_file(index_dir, "s000002", "vectors.npy")
    original = flip(damaged)
    for client in serve():
        live = client.app.state.live  # type: ignore[attr-defined]
        assert live.version == first
        assert live.refresh() is False  # unchanged files: not opened again
        damaged.write_bytes(original)  # restored from a backup: no new version written
        assert live.refresh() is True
        health = client.get("/health").json()
        assert health["index_version"] == second and health["status"] == "ok"
        assert health["reload_error"] is None


def test_repair_rebuilds_a_damaged_segment_without_embedding_again(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", CountingEmbedder()
    two_versions(index_dir, embedder)
    damaged = segment_file(index_dir, "s000001", "vectors.npy")
    flip(damaged)
    before = embedder.embedded
    report = repair_index(index_dir, Recipe.of(embedder, OPTIONS), OPTIONS)
    assert embedder.embedded == before and report.embedded == 0
    assert [d.file for d in report.damaged] == ["segments/s000001/vectors.npy"]
    assert report.rebuilt == ["s000001"] and report.kept == ["s000002"]
    assert report.recovered == 5 and report.lost == [] and report.from_corpus == []
    assert [problem for _, problem, _ in verify_index(index_dir)] == [None]
    # The oracle: a fresh build of the same articles.
    fresh = tmp_path / "fresh"
    update_index(fresh, HashingEmbedder(), [article(i) for i in range(6)], options=OPTIONS)
    repaired, rebuilt = open_index(index_dir), open_index(fresh)
    try:
        for query in ("rates report", "museum railway", "critics plan delayed"):
            assert results(repaired, query) == results(rebuilt, query)
    finally:
        repaired.close()
        rebuilt.close()


def test_an_intact_index_needs_no_repair(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    _, second = two_versions(index_dir, HashingEmbedder())
    done = cli(index_dir, "repair")
    assert done.exit_code == 0 and f"nothing to repair: every file of version {second}" in (
        done.stdout
    )
    assert current_version(index_dir)[0] == second


def test_articles_damaged_in_the_store_are_reread_from_the_corpus_or_named_lost(
    tmp_path: Path,
) -> None:
    index_dir = tmp_path / "index"
    two_versions(index_dir, HashingEmbedder())
    flip_text(segment_file(index_dir, "s000001", "store.sqlite"), "The election report")
    # Without the article in the corpus it is lost, by name, and the exit code says so.
    empty = tmp_path / "corpus"
    empty.mkdir()
    done = cli(index_dir, "repair", str(empty))
    assert done.exit_code == 1, done.output
    assert "4 articles recovered from the index, 0 re-read from the corpus, 1 lost" in (done.stdout)
    assert "lost (damaged in the index, not in the corpus): story-2" in done.stderr
    index = open_index(index_dir)
    assert index.counts["articles"] == 5 and not index.store.has_article("story-2")
    index.close()


def test_a_damaged_store_is_rebuilt_from_the_corpus_files(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", CountingEmbedder()
    two_versions(index_dir, embedder)
    flip_text(segment_file(index_dir, "s000001", "store.sqlite"), "The election report")
    corpus = [article(i) for i in range(6)]
    before = embedder.embedded
    report = repair_index(index_dir, Recipe.of(embedder, OPTIONS), OPTIONS, lambda: corpus)
    assert report.from_corpus == ["story-2"] and report.lost == [] and report.recovered == 4
    assert embedder.embedded == before  # the corpus copy's chunks are in the cache
    index = open_index(index_dir)
    assert index.article("story-2") == article(2) and index.counts["articles"] == 6
    index.close()


def test_damaged_deletions_are_rebuilt_from_the_segments(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    two_versions(index_dir, embedder)
    update_index(index_dir, embedder, [article(1, variant=1)], options=OPTIONS)  # an update
    _, folder = current_version(index_dir)
    deletions = folder / "deletions.json"
    deletions.write_text(deletions.read_text().replace("story-1", "story-X"))
    report = repair_index(index_dir, Recipe.of(embedder, OPTIONS), OPTIONS)
    assert report.damaged[0].file == "deletions.json" and report.notes == []
    index = open_index(index_dir)
    assert index.counts["articles"] == 6 and index.article("story-1") == article(1, variant=1)
    index.close()


def test_a_version_from_another_model_is_not_repaired(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    two_versions(index_dir, HashingEmbedder())
    flip(segment_file(index_dir, "s000001", "vectors.npy"))
    done = cli(index_dir, "repair", embedder=HashingEmbedder(name="other-model"))
    assert done.exit_code == 2 and "another model" in done.stderr


def test_upload_to_a_damaged_index_names_the_repair(tmp_path: Path) -> None:
    index_dir, embedder = tmp_path / "index", HashingEmbedder()
    two_versions(index_dir, embedder)
    flip(segment_file(index_dir, "s000002", "vectors.npy"))
    extra = Article(id="extra", title="Harbour", text="The harbour reopened on Friday.")
    with pytest.raises(Exception, match="cited repair"):
        update_index(index_dir, embedder, [extra], options=OPTIONS)


def test_the_version_checked_before_the_server_starts_is_served_without_a_second_check(
    tmp_path: Path,
) -> None:
    index_dir = tmp_path / "index"
    first, _ = two_versions(index_dir, HashingEmbedder())
    flip(segment_file(index_dir, "s000002", "vectors.npy"))
    parts = Parts(settings_for(index_dir), embedder=HashingEmbedder())
    index, skipped = parts.open_served(keep=True)  # what `cited serve` does before uvicorn
    with TestClient(create_app(parts=parts)) as client:
        live = client.app.state.live  # type: ignore[attr-defined]
        assert live.pipeline.index is index and index.version == first
        assert live.refused == skipped[0].version
    assert parts.take_served() is None  # handed over once
