"""``cited repair``: replace the damaged files of an index with a new version, re-embedding
nothing the embedding cache holds.

1. Every file of the current version is checked against its manifest.
2. The segments whose files all verify are kept, shared by hard links as an update shares them.
3. The articles of a damaged segment are read back from its store: an article whose content
   hash (stored with it) still matches is recovered as it was. The others, and every article of
   a store that cannot be read, are taken from the corpus files when these hold them (by id),
   and reported as lost when they do not.
4. The recovered articles are chunked and embedded into a new segment: the embedding cache
   returns the vector of every chunk it has seen, so nothing is embedded again unless the cache
   lost it too. BM25, the deletions and the manifest are written anew with the version.

A damaged ``deletions.json`` is rebuilt from the segments (an article also held by a newer
segment is deleted in the older ones); deletions it cannot rebuild are reported.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.errors import CitedError, IndexIntegrityError, IndexMismatchError
from indexer.integrity import Damage, find_damage
from indexer.layout import (
    DELETIONS_FILE,
    STORE_FILE,
    new_segment_name,
    segment_folder,
    segment_path,
)
from indexer.manifest import Manifest, read_manifest
from indexer.segments import Segment
from indexer.store import Store
from indexer.stores import store_of
from indexer.types import Article
from indexer.update import Recipe, UpdateOptions, segment_writer
from indexer.update_plan import compatible, content_sha256
from indexer.version_writer import VersionWriter
from indexer.versions import (
    collect_garbage,
    current_version,
    start_version,
    version_number,
    writer_lock,
)

logger = logging.getLogger(__name__)

#: Reads the corpus when some articles cannot be recovered from the index (called at most once).
CorpusReader = Callable[[], Iterable[Article]]


@dataclass
class RepairReport:
    """What a repair found and did; the CLI prints it."""

    base: str
    damaged: list[Damage] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    #: Articles of damaged segments recovered from their store (content hash verified).
    recovered: int = 0
    #: Articles re-read from the corpus files (lost from the index, found there).
    from_corpus: list[str] = field(default_factory=list)
    #: Articles lost: their stored copy is damaged and the corpus does not hold them.
    lost: list[str] = field(default_factory=list)
    #: Segments whose store could not be read at all: which articles they held is unknown.
    unreadable: list[str] = field(default_factory=list)
    #: What could not be rebuilt of a damaged deletions file.
    notes: list[str] = field(default_factory=list)
    version: str | None = None
    embedded: int = 0
    chunks: int = 0
    articles: int = 0
    seconds: float = 0.0


def repair_index(
    index_dir: Path,
    recipe: Recipe,
    options: UpdateOptions,
    corpus: CorpusReader | None = None,
) -> RepairReport:
    """Publish a version of ``index_dir`` without the current version's damaged files (see the
    module); a report with ``version`` None when nothing is damaged."""
    started = time.perf_counter()
    with writer_lock(index_dir, options.lock_wait_s):
        name, folder = current_version(index_dir)
        try:
            manifest = read_manifest(folder)
        except IndexIntegrityError as exc:
            raise IndexIntegrityError(
                f"{exc}: the version's list of files is lost, so its segments cannot be told "
                f"apart; `cited index --force PATH...` rebuilds from the newest intact version "
                "plus the corpus files"
            ) from exc
        if not compatible(manifest, recipe.target):
            raise IndexMismatchError(
                f"version {name} was built with another model, chunking, second stage or "
                "vector store than the configured ones: configure the index's own (its "
                f"{folder / 'manifest.json'} says which) to repair it"
            )
        report = RepairReport(base=name, damaged=find_damage(folder, manifest))
        if report.damaged:
            _Repair(index_dir, folder, manifest, recipe, options, report).run(corpus)
            collect_garbage(index_dir, options.grace_s, options.keep_versions)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Repair:
    index_dir: Path
    folder: Path
    manifest: Manifest
    recipe: Recipe
    options: UpdateOptions
    report: RepairReport

    def run(self, corpus: CorpusReader | None) -> None:
        report, manifest = self.report, self.manifest
        bad_files = {d.file for d in report.damaged}
        deletions = self._deletions(DELETIONS_FILE in bad_files)
        kept: list[Segment] = []
        rewrite: dict[str, tuple[Article, str]] = {}
        wanted: set[str] = set()  # ids to take from the corpus
        for info in manifest.segments:
            dead = deletions.get(info.name, [])
            prefix = segment_path(info.name, "")
            if not any(f.startswith(prefix) for f in bad_files):
                kept.append(self._open(info.name, info.vector_index, dead))
                report.kept.append(info.name)
                continue
            report.rebuilt.append(info.name)
            store_ok = segment_path(info.name, STORE_FILE) not in bad_files
            recovered, lost = self._read_back(info.name, set(dead), store_ok)
            for article, sha in recovered:
                rewrite[article.id] = (article, sha)
            wanted |= lost
        live_kept = {a for s in kept for a in s.store.content_hashes() if a not in s.deleted}
        # An article rewritten from a damaged segment leaves the older kept ones it was in.
        for article_id in list(wanted):
            if article_id in rewrite or article_id in live_kept:
                wanted.discard(article_id)
        if wanted or report.unreadable:
            self._from_corpus(corpus, wanted, live_kept | set(rewrite), rewrite)
        report.recovered = len(rewrite) - len(report.from_corpus)
        self._publish(kept, rewrite)

    def _open(self, name: str, kind: str, dead: list[str]) -> Segment:
        manifest = self.manifest
        second = manifest.second_stage.dim if manifest.second_stage is not None else None
        return Segment(
            segment_folder(self.folder, name),
            manifest.model.dim,
            store_of(manifest),
            kind,
            dead,
            second,
        )

    def _read_back(
        self, name: str, dead: set[str], store_ok: bool
    ) -> tuple[list[tuple[Article, str]], set[str]]:
        """The live articles of segment ``name`` its store still holds intact, and the ids of
        those it holds damaged (content hash off, or not readable)."""
        path = segment_folder(self.folder, name) / STORE_FILE
        recovered: list[tuple[Article, str]] = []
        lost: set[str] = set()
        try:
            store = Store(path)
            try:
                for article_id, stored in store.content_hashes().items():
                    if article_id in dead:
                        continue
                    try:
                        article = store.article(article_id)
                    except (CitedError, ValueError) as exc:
                        logger.warning("%s: article %r not readable (%s)", path, article_id, exc)
                        lost.add(article_id)
                        continue
                    if store_ok or content_sha256(article) == stored:
                        recovered.append((article, stored))
                    else:
                        logger.warning("%s: article %r is damaged", path, article_id)
                        lost.add(article_id)
            finally:
                store.close()
        except (CitedError, ValueError) as exc:
            logger.error("%s: not readable, its articles are unknown (%s)", path, exc)
            self.report.unreadable.append(name)
        return recovered, lost

    def _from_corpus(
        self,
        corpus: CorpusReader | None,
        wanted: set[str],
        present: set[str],
        rewrite: dict[str, tuple[Article, str]],
    ) -> None:
        """Take the ``wanted`` articles (and, when a store was unreadable, every article not
        ``present``) from the corpus; the rest of ``wanted`` is lost."""
        report = self.report
        if corpus is not None:
            for article in corpus():
                take = article.id in wanted or (
                    bool(report.unreadable) and article.id not in present
                )
                if take and article.id not in rewrite:
                    rewrite[article.id] = (article, content_sha256(article))
                    report.from_corpus.append(article.id)
        report.lost = sorted(wanted - set(report.from_corpus))

    def _deletions(self, damaged: bool) -> dict[str, list[str]]:
        """The deletions of each segment: read, or rebuilt when the file is damaged."""
        path = self.folder / DELETIONS_FILE
        if not damaged:
            loaded: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
            return loaded
        rebuilt: dict[str, list[str]] = {}
        later: set[str] = set()
        for info in reversed(self.manifest.segments):
            try:
                store = Store(segment_folder(self.folder, info.name) / STORE_FILE)
                held = set(store.content_hashes())
                store.close()
            except CitedError:
                held = set()
            dead = sorted(held & later)
            if dead:
                rebuilt[info.name] = dead
            if len(dead) != info.deleted_articles:
                self.report.notes.append(
                    f"{DELETIONS_FILE} was damaged: segment {info.name} had "
                    f"{info.deleted_articles} deleted articles, {len(dead)} could be rebuilt "
                    "(an article deleted outright is served again: `cited delete` it)"
                )
            later |= held
        return rebuilt

    def _publish(self, kept: list[Segment], rewrite: dict[str, tuple[Article, str]]) -> None:
        report, recipe, options = self.report, self.recipe, self.options
        name, building = start_version(self.index_dir)
        number = version_number(name)
        version = VersionWriter(
            building, number, recipe.embedder.dim, recipe.vectors, recipe.second
        )
        version.keep(kept, set(rewrite))
        next_id = self.manifest.next_chunk_id
        if rewrite:
            folder = segment_folder(building, new_segment_name(number))
            writer = segment_writer(self.index_dir, recipe.embedder, recipe, options)
            kind, next_id = writer.write(folder, list(rewrite.values()), next_id)
            report.embedded = writer.embedded
            version.add(folder, kind)
        version.merge_if_needed(options.max_segments)
        intact = {
            k: v
            for k, v in self.manifest.files.items()
            if k not in {d.file for d in report.damaged}
        }
        report.articles, report.chunks = version.publish(
            self.index_dir,
            name,
            model=recipe.model,
            chunking=recipe.info,
            next_chunk_id=next_id,
            known_files=intact,
        )
        for segment in kept:
            segment.close()
        report.version = name
        logger.warning(
            "repaired %s as %s: %d segments kept, %d rebuilt, %d articles recovered, "
            "%d from the corpus, %d lost",
            report.base,
            name,
            len(report.kept),
            len(report.rebuilt),
            report.recovered,
            len(report.from_corpus),
            len(report.lost),
        )
