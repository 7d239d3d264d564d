"""The parent's view of one crash test run: where the index is, what it must hold, how long
updates and start-ups take lately, and the fork server."""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from indexer.update import update_index
from tests.crash.corpus import State, to_articles, update_options
from tests.crash.process import Process, WorkerError, worker_args
from tests.crash.tally import Tally
from tests.crash.workers import Worker, fork_worker, spawn_worker
from tests.fakes import HashingEmbedder


@dataclass
class Run:
    """The parent's view: where the index is and what it must hold."""

    work: Path
    seed: int
    articles: int
    spawn: bool
    rng: random.Random
    state: State
    version: str = ""
    next_op: int = 0
    durations: list[float] = field(default_factory=list)
    startups: list[float] = field(default_factory=list)
    server: Process | None = None
    verbose: bool = False
    tally: Tally = field(default_factory=Tally)

    @property
    def index_dir(self) -> Path:
        return self.work / "index"

    def duration(self) -> float:
        """The mean time of an update (``ready`` to ``done``) lately."""
        recent = self.durations[-30:]
        return statistics.fmean(recent) if recent else 0.3

    def startup(self) -> float:
        """The median time from a worker's start to the end of its imports."""
        return statistics.median(self.startups[-10:]) if self.startups else 2.0

    def start_server(self) -> None:
        args = worker_args(self.work, self.seed, self.articles, "fork")
        self.server = Process(args, self.work / "worker.log")
        item = self.server.get()
        if item is None or item[1] != "loaded":
            raise WorkerError(f"the fork server did not start: see {self.work / 'worker.log'}")
        self.startups.append(item[0] - self.server.started)

    def new_worker(self, mode: str) -> Worker:
        """A worker starting at ``next_op``: forked, unless start-up is to be killed too."""
        if mode == "startup" or self.spawn or self.server is None:
            return spawn_worker(self.work, self.seed, self.articles, self.next_op)
        return fork_worker(self.server, self.next_op)

    def learn(self, worker: Worker) -> None:
        """Update times from a worker's lines: start-up, and each ``ready``->``done``."""
        loaded = worker.marks("loaded")
        if loaded and worker.own:
            self.startups.append(loaded[0][0] - worker.source.started)
        readies = {words[0]: t for t, words in worker.marks("ready")}
        for t, words in worker.marks("done"):
            if words[0] in readies:
                self.durations.append(t - readies[words[0]])

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def build_initial(run: Run) -> None:
    """The first version, built in this process: the state every kill starts from."""
    report = update_index(
        run.index_dir, HashingEmbedder(), to_articles(run.state), options=update_options()
    )
    assert report.version is not None
    run.version = report.version
