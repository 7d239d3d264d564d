"""The live index: serve the newest published version, swap to a newer one without a restart.

Every request takes :attr:`LiveIndex.pipeline` once and runs entirely on that version; a swap
replaces the reference atomically, so no request sees two versions and none fails during the
swap. Versions only move forward: a version number at or below the one served is never opened.
A newer version that fails verification is refused (logged, shown by ``/health``) and the
current one keeps serving; it is tried again once its files change (restored or repaired). At
start the newest version that verifies is served, the damaged newer ones refused the same way.

Damage after opening is found by :meth:`LiveIndex.audit`, which re-checks the sha256 of every
file of the served version every ``CITED_VERIFY_INTERVAL_S``: ``/health`` then says
``degraded`` and names the files, and the service keeps answering from the version it holds
(its vectors are in memory) until ``cited repair`` publishes a version without them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from starlette.concurrency import run_in_threadpool

from cited.config import Settings
from indexer.build import options_from, store_options
from indexer.embedders.base import Embedder
from indexer.errors import CitedError
from indexer.index import Index, open_version
from indexer.integrity import (
    REPAIR_COMMAND,
    Damage,
    Fingerprint,
    Skipped,
    find_damage,
    fingerprint,
)
from indexer.layout import version_folder
from indexer.second_stage import SecondStage
from indexer.types import Article
from indexer.update import BuildReport, update_index
from indexer.versions import current_version, version_number
from service.generation.base import Generator
from service.pipeline import Pipeline

logger = logging.getLogger(__name__)


class LiveIndex:
    """The pipeline over the newest valid published version of ``settings.index.index_dir``."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        generator: Generator | None,
        second_stage: SecondStage | None = None,
        opened: tuple[Index, list[Skipped]] | None = None,
    ):
        self.settings = settings
        self.embedder = embedder
        self.generator = generator
        self.second_stage = second_stage
        from cited.compose import Parts  # the one place the configured index is opened

        index, skipped = opened or Parts(settings).open_served()
        self.pipeline = Pipeline.over(index, embedder, settings, generator, second_stage)
        self.last_error: str | None = None
        #: Damaged files of the served version found by :meth:`audit` (empty: intact).
        self.damage: list[Damage] = []
        #: A version refused for damage and its files' fingerprint then: retried on a change.
        self._refused: tuple[str, Fingerprint] | None = None
        self._swap_lock = threading.Lock()
        if skipped:
            newest = skipped[0]
            folder = version_folder(settings.index.index_dir, newest.version)
            self._refuse(newest.version, fingerprint(folder), newest.problem)
        self._write_lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.pipeline.index.version

    def refresh(self) -> bool:
        """Swap to the published version if it is newer than the one served (or was refused
        and its files changed since); True if swapped."""
        with self._swap_lock:
            try:
                name, folder = current_version(self.settings.index.index_dir)
            except CitedError as exc:
                self.last_error = str(exc)
                return False
            if version_number(name) <= version_number(self.version):
                return False
            stamp = fingerprint(folder)
            if self._refused == (name, stamp):
                return False
            try:
                index = open_version(
                    folder,
                    verify=self.settings.index.verify_checksums,
                    store=store_options(self.settings),
                )
                index.check_model(self.embedder.name, self.embedder.dim)
            except CitedError as exc:
                self._refuse(name, stamp, str(exc))
                return False
            # The old pipeline is not closed: requests still running on it finish on it; its
            # files stay readable (open handles) even after garbage collection deletes them.
            # Its selector (and the sentence ranker read at start-up) serves the new version.
            self.pipeline = Pipeline.over(
                index,
                self.embedder,
                self.settings,
                self.generator,
                self.second_stage,
                selector=self.pipeline.selector,
            )
            self.last_error, self._refused, self.damage = None, None, []
            logger.info("now serving index version %s", name)
            return True

    @property
    def refused(self) -> str | None:
        """The newer version refused for damage (tried again when its files change), if any."""
        return None if self._refused is None else self._refused[0]

    def damaged_files(self) -> list[str]:
        """``path: problem`` of each damaged file of the served version found by :meth:`audit`."""
        folder = self.pipeline.index.folder
        return [f"{folder / d.file}: {d.problem}" for d in self.damage]

    def _refuse(self, name: str, stamp: Fingerprint, problem: str) -> None:
        self._refused = (name, stamp)
        self.last_error = (
            f"newer version {name} refused, still serving {self.version}: {problem}; run "
            f"`{REPAIR_COMMAND}` to replace it (it is tried again when its files change)"
        )
        logger.error("keeping version %s: %s", self.version, self.last_error)

    def audit(self) -> list[Damage]:
        """Re-check every file of the served version against its manifest; the damage found
        is kept for ``/health`` (and logged) until a version without it is served."""
        index = self.pipeline.index
        if not index.folder.is_dir():  # superseded and garbage-collected while still held
            return self.damage
        damage = find_damage(index.folder, index.manifest)
        with self._swap_lock:
            if self.pipeline.index is index:
                self.damage = damage
        for item in damage:
            logger.error(
                "index version %s is damaged, still answering from what it holds: %s; run `%s`",
                index.version,
                item,
                REPAIR_COMMAND,
            )
        return damage

    def change(self, articles: Sequence[Article] = (), delete: Sequence[str] = ()) -> BuildReport:
        """Add/update ``articles`` and delete ids in a new version, then serve it at once."""
        with self._write_lock:
            report = update_index(
                self.settings.index.index_dir,
                self.embedder,
                articles,
                delete,
                options=options_from(
                    self.settings,
                    progress=False,
                    second_stage=self.second_stage,
                ),
            )
        self.refresh()
        return report

    async def watch(self) -> None:
        """Look for a newer version every ``reload_interval_s`` (run as a background task)."""
        await _every(
            self.settings.serve.reload_interval_s, self.refresh, "looking for a newer version"
        )

    async def audit_forever(self) -> None:
        """Re-check the served version's files every ``verify_interval_s`` (a background task)."""
        await _every(self.settings.serve.verify_interval_s, self.audit, "checking the index files")

    def close(self) -> None:
        self.pipeline.close(close_generator=False)
        if self.generator is not None:
            self.generator.close()


async def _every(interval: float, work: Callable[[], object], what: str) -> None:
    """Run ``work`` in a worker thread every ``interval`` seconds, for ever; a failure is
    logged and the next round runs (a bad version must not stop the service)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(work)
        except Exception:
            logger.exception("%s failed", what)
