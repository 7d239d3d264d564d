"""The live index: serve the newest published version, swap to a newer one without a restart.

Every request takes :attr:`LiveIndex.pipeline` once and runs entirely on that version; a swap
replaces the reference atomically, so no request sees two versions and none fails during the
swap. Versions only move forward: a version number at or below the one served is never opened.
A newer version that fails verification is refused (logged, shown by ``/health``) and the
current one keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from cited.config import Settings
from indexer.build import options_from, store_options
from indexer.embedders.base import Embedder
from indexer.errors import CitedError
from indexer.index import open_version
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
    ):
        self.settings = settings
        self.embedder = embedder
        self.generator = generator
        self.second_stage = second_stage
        self.pipeline = Pipeline.open(settings, embedder, generator, second_stage)
        self.last_error: str | None = None
        self._refused: str | None = None
        self._swap_lock = threading.Lock()
        self._write_lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.pipeline.index.version

    def refresh(self) -> bool:
        """Swap to the published version if it is newer than the one served; True if swapped."""
        with self._swap_lock:
            try:
                name, folder = current_version(self.settings.index.index_dir)
            except CitedError as exc:
                self.last_error = str(exc)
                return False
            if version_number(name) <= version_number(self.version) or name == self._refused:
                return False
            try:
                index = open_version(
                    folder,
                    verify=self.settings.index.verify_checksums,
                    store=store_options(self.settings),
                )
                index.check_model(self.embedder.name, self.embedder.dim)
            except CitedError as exc:
                self._refused = name
                self.last_error = f"newer version {name} refused, still serving: {exc}"
                logger.error("keeping version %s: %s", self.version, self.last_error)
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
            self.last_error = None
            logger.info("now serving index version %s", name)
            return True

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
        interval = self.settings.serve.reload_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                await run_in_threadpool(self.refresh)
            except Exception:  # keep watching: a bad version must not stop the service
                logger.exception("looking for a newer index version failed")

    def close(self) -> None:
        self.pipeline.close(close_generator=False)
        if self.generator is not None:
            self.generator.close()
