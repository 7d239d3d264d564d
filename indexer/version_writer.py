"""Assemble and publish a new version in its building folder: share the kept segments (with
their new deletions), merge segments when there are too many, write BM25, the deletions and
the manifest (with a checksum of every file), then publish."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from indexer.layout import (
    DELETIONS_FILE,
    LEXICAL_DIR,
    merged_segment_name,
    segment_folder,
    segment_path,
)
from indexer.lexical.bm25 import BM25Index
from indexer.manifest import (
    ChunkingInfo,
    FileInfo,
    Manifest,
    ModelInfo,
    SegmentInfo,
    file_info,
)
from indexer.second_stage.record import SecondStageRecord
from indexer.segment_writer import embed_text
from indexer.segments import Segment, SegmentedStore, drop_segment, link_segment, merge_segments
from indexer.stores import VectorStore, store_info
from indexer.update_plan import needs_merge
from indexer.versions import publish

logger = logging.getLogger(__name__)


@dataclass
class VersionWriter:
    """The segments of the version being built in ``building`` and how they are stored."""

    building: Path
    number: int
    dim: int
    vectors: VectorStore
    second_stage: SecondStageRecord | None
    segments: list[Segment] = field(default_factory=list)
    #: Per segment name: the articles deleted from it.
    deletions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def second_dim(self) -> int | None:
        return self.second_stage.dim if self.second_stage is not None else None

    def keep(self, kept: Iterable[Segment], replaced: set[str]) -> None:
        """Share the ``kept`` segments, marking ``replaced`` articles deleted in them; a
        segment with nothing left is dropped."""
        for segment in kept:
            dead = sorted(segment.deleted | {a for a in replaced if segment.holds(a)})
            if len(dead) >= segment.store.counts()[0]:
                continue
            target = segment_folder(self.building, segment.name)
            link_segment(segment.folder, target, self.vectors, segment.kind)
            self.deletions[segment.name] = dead
            self.add(target, segment.kind, dead)

    def add(self, folder: Path, kind: str, deleted: list[str] | tuple[()] = ()) -> None:
        self.segments.append(
            Segment(folder, self.dim, self.vectors, kind, deleted, self.second_dim)
        )

    def merge_if_needed(self, max_segments: int) -> None:
        """Merge every segment into one when there are too many or half the rows are dead."""
        segments = self.segments
        if not needs_merge(
            [len(s.ids) for s in segments], [len(s.live_ids) for s in segments], max_segments
        ):
            return
        merged = segment_folder(self.building, merged_segment_name(self.number))
        kind = merge_segments(segments, merged, self.vectors)
        for segment in segments:
            segment.close()
            drop_segment(segment.folder, self.vectors, segment.kind)
        self.segments, self.deletions = [], {}
        self.add(merged, kind)

    def publish(
        self,
        index_dir: Path,
        name: str,
        *,
        model: ModelInfo,
        chunking: ChunkingInfo,
        next_chunk_id: int,
        known_files: dict[str, FileInfo],
    ) -> tuple[int, int]:
        """Write BM25, deletions and manifest, then publish; returns (articles, chunks)."""
        store = SegmentedStore(self.segments)
        texts, ids = [], []
        for chunk_id, title, text in store.chunk_texts():
            ids.append(chunk_id)
            texts.append(embed_text(title, text, chunking.title_context))
        lexical = BM25Index.build(np.asarray(ids, dtype=np.int64), texts)
        lexical_files = lexical.save(self.building / LEXICAL_DIR)
        (self.building / DELETIONS_FILE).write_text(
            json.dumps({k: v for k, v in self.deletions.items() if v}, indent=1), encoding="utf-8"
        )
        files = self._file_infos(known_files, [*lexical_files, self.building / DELETIONS_FILE])
        article_count, chunk_count = store.counts()
        manifest = Manifest(
            version=name,
            created=datetime.now(UTC).isoformat(timespec="milliseconds"),
            model=model,
            chunking=chunking,
            vector_index=self._summary(),
            lexical_index=lexical.kind,
            second_stage=self.second_stage,
            store=store_info(self.vectors),
            counts={"articles": article_count, "chunks": chunk_count},
            segments=[
                SegmentInfo(
                    name=s.name,
                    articles=s.store.counts()[0],
                    chunks=len(s.ids),
                    deleted_articles=len(s.deleted),
                    vector_index=s.kind,
                )
                for s in self.segments
            ],
            next_chunk_id=next_chunk_id,
            files=files,
        )
        store.close()
        manifest.write(self.building)
        publish(index_dir, name, self.building)
        return article_count, chunk_count

    def _file_infos(self, known: dict[str, FileInfo], others: list[Path]) -> dict[str, FileInfo]:
        """Checksums of every file; linked segment files reuse the (verified) base's."""
        files: dict[str, FileInfo] = {}
        for segment in self.segments:
            for file in segment.files():
                relative = segment_path(segment.name, file)
                path = self.building / relative
                info = known.get(relative)
                files[relative] = (
                    info if info is not None and _same(path, info) else file_info(path)
                )
        for path in others:
            files[path.relative_to(self.building).as_posix()] = file_info(path)
        return files

    def _summary(self) -> str:
        """The manifest's summary: exact search below the size threshold, else approximate."""
        approximate = sum(self.vectors.approximate(s.kind) for s in self.segments)
        return (
            f"{self.vectors.name} store, by segment size: exact under "
            f"{self.vectors.exact_max_vectors} vectors (384-d equivalent), else approximate; "
            f"{approximate} of {len(self.segments)} segments approximate"
        )


def _same(path: Path, info: FileInfo) -> bool:
    """A hard link to a verified file of the base: its size must still agree."""
    return path.stat().st_size == info.bytes and path.stat().st_nlink > 1
