"""What a change does, decided without touching disk: which articles are added, updated,
unchanged, deleted or not found, which are (re)written into the new segment, and when the
version's segments are merged. :mod:`indexer.update` carries the plan out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from indexer.manifest import ChunkingInfo, Manifest, StoreInfo
from indexer.second_stage.record import SecondStageRecord
from indexer.types import Article


def content_sha256(article: Article) -> str:
    payload = json.dumps(asdict(article), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Target:
    """What the new version must be built with: a base built otherwise is rebuilt."""

    model: str
    dim: int
    chunking: ChunkingInfo
    second_stage: SecondStageRecord | None
    store: StoreInfo


def compatible(manifest: Manifest, target: Target) -> bool:
    """Whether ``manifest``'s segments can be kept: same model, chunking, second stage and
    vector store (an index without a store record was written by the FAISS store)."""
    written = manifest.store_record()
    return (
        manifest.model.name == target.model
        and manifest.model.dim == target.dim
        and manifest.chunking == target.chunking
        and manifest.second_stage == target.second_stage
        and (written.backend, written.params) == (target.store.backend, target.store.params)
    )


@dataclass
class UpdatePlan:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    #: Articles (with content hash) the new segment holds, in order.
    write: list[tuple[Article, str]] = field(default_factory=list)
    #: Every segment is rewritten (forced, or the model, chunking or store changed).
    rebuild: bool = False

    @property
    def gone(self) -> set[str]:
        return set(self.deleted)

    @property
    def replaced(self) -> set[str]:
        """Articles that leave the kept segments: deleted, or rewritten in the new one."""
        return self.gone | {article.id for article, _ in self.write}

    def nothing_to_do(self, has_base: bool) -> bool:
        return has_base and not self.write and not self.deleted and not self.rebuild


def plan_update(
    articles: Sequence[Article],
    delete: Sequence[str],
    *,
    live: Mapping[str, str],
    carried: Mapping[str, tuple[Article, str]] | None = None,
    prune: bool = False,
    rebuild: bool = False,
) -> UpdatePlan:
    """Plan a change of an index whose kept segments hold ``live`` (article id -> content hash).

    On a ``rebuild`` nothing is kept (``live`` is empty) and ``carried`` holds every article of
    the base version: those neither given nor deleted are rewritten as they are. The last copy
    of an id in ``articles`` wins; with ``prune`` every article not given is deleted.
    """
    carried = carried or {}
    plan = UpdatePlan(rebuild=rebuild)
    incoming = {a.id: a for a in articles}
    for article_id, article in incoming.items():
        sha = content_sha256(article)
        if live.get(article_id) == sha and not rebuild:
            plan.unchanged.append(article_id)
        else:
            known = article_id in live or article_id in carried
            (plan.updated if known else plan.added).append(article_id)
            plan.write.append((article, sha))
    gone = {i for i in delete if i in live or i in carried}
    plan.not_found = [i for i in dict.fromkeys(delete) if i not in gone]
    if prune:
        gone |= {i for i in [*live, *carried] if i not in incoming}
    gone -= set(incoming)
    plan.deleted = sorted(gone)
    for article_id, (article, sha) in sorted(carried.items()):
        if article_id not in incoming and article_id not in gone:
            plan.write.append((article, sha))
    return plan


def needs_merge(rows: Sequence[int], live_rows: Sequence[int], max_segments: int) -> bool:
    """Merge a version's segments (rows and live rows of each) when there are more than
    ``max_segments`` or when over half of all rows are dead."""
    total = sum(rows)
    dead = total - sum(live_rows)
    return len(rows) > max_segments or (len(rows) > 1 and dead * 2 > total)
