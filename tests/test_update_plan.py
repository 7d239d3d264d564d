"""The pure update plan: which articles are added, updated, unchanged, deleted or not found,
decided without touching disk."""

from __future__ import annotations

from indexer.manifest import ChunkingInfo, Manifest, ModelInfo, StoreInfo
from indexer.types import Article
from indexer.update_plan import Target, compatible, content_sha256, needs_merge, plan_update


def article(i: int, text: str = "Some text.") -> Article:
    return Article(id=f"a{i}", title=f"T{i}", text=text)


def live_of(*articles: Article) -> dict[str, str]:
    return {a.id: content_sha256(a) for a in articles}


def test_new_changed_unchanged_and_deleted_articles() -> None:
    live = live_of(article(1), article(2), article(3))
    plan = plan_update(
        [article(1), article(2, "New text."), article(4)], ["a3", "a9", "a9"], live=live
    )
    assert plan.unchanged == ["a1"] and plan.updated == ["a2"] and plan.added == ["a4"]
    assert plan.deleted == ["a3"] and plan.not_found == ["a9"]
    assert [a.id for a, _ in plan.write] == ["a2", "a4"]
    assert plan.replaced == {"a2", "a3", "a4"}
    assert not plan.nothing_to_do(has_base=True)


def test_the_last_copy_of_an_id_wins_and_given_beats_deleted() -> None:
    plan = plan_update([article(1, "old"), article(1, "new")], ["a1"], live=live_of(article(1)))
    assert plan.updated == ["a1"] and plan.deleted == []
    assert [a.text for a, _ in plan.write] == ["new"]


def test_prune_deletes_every_article_not_given() -> None:
    plan = plan_update([article(1)], [], live=live_of(article(1), article(2)), prune=True)
    assert plan.unchanged == ["a1"] and plan.deleted == ["a2"] and not plan.write


def test_nothing_to_do() -> None:
    plan = plan_update([article(1)], [], live=live_of(article(1)))
    assert plan.nothing_to_do(has_base=True) and not plan.nothing_to_do(has_base=False)


def test_a_rebuild_rewrites_every_carried_article() -> None:
    carried = {a.id: (a, content_sha256(a)) for a in (article(1), article(2), article(3))}
    plan = plan_update([article(2, "changed")], ["a3"], live={}, carried=carried, rebuild=True)
    assert plan.updated == ["a2"] and plan.deleted == ["a3"] and plan.rebuild
    assert [a.id for a, _ in plan.write] == ["a2", "a1"]


def test_merge_rule() -> None:
    assert needs_merge([10] * 9, [10] * 9, max_segments=8)
    assert not needs_merge([10] * 8, [10] * 8, max_segments=8)
    assert needs_merge([10, 10], [4, 5], max_segments=8)  # over half the rows dead
    assert not needs_merge([10], [1], max_segments=8)  # one segment is never merged


def test_compatibility_includes_the_store() -> None:
    info = ChunkingInfo(max_tokens=62, overlap_sentences=1, title_context=True)
    manifest = Manifest(
        version="v000001-20260101T000000Z",
        created="2026-01-01T00:00:00",
        model=ModelInfo(name="m", dim=64, max_tokens=62),
        chunking=info,
        vector_index="",
        lexical_index="",
        counts={},
        segments=[],
        next_chunk_id=1,
        files={},
    )
    faiss = Target("m", 64, info, None, StoreInfo(backend="faiss"))
    assert compatible(manifest, faiss)  # no store record: written by FAISS
    assert not compatible(manifest, Target("m", 64, info, None, StoreInfo(backend="numpy")))
    tuned = StoreInfo(backend="faiss", params={"nprobe": 8})
    assert not compatible(manifest, Target("m", 64, info, None, tuned))
    assert not compatible(manifest, Target("other", 64, info, None, StoreInfo(backend="faiss")))
