"""One worker process, as the parent sees it: an interpreter of its own or a child of the fork
server; its lines, and a SIGKILL."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.crash.process import LINE_TIMEOUT_S, Line, Process, WorkerError, worker_args


class Worker:
    """One worker process: an interpreter of its own (``own``) or a child of the fork server."""

    def __init__(self, source: Process, pid: int, own: bool) -> None:
        self.source = source
        self.pid = pid
        self.own = own
        self.seen: list[Line] = []
        self.code: int | None = None

    def next_line(self, timeout: float = LINE_TIMEOUT_S) -> Line:
        """The worker's next line; raises when it ended by itself or stayed silent."""
        item = self.source.get(timeout)
        if item is None:
            raise WorkerError(f"worker {self.pid} exited with {self.source.proc.wait()}")
        if item[1].startswith(f"exit {self.pid} "):
            self.code = int(item[1].split()[2])
            raise WorkerError(f"worker {self.pid} exited with {self.code}")
        self.seen.append(item)
        return item

    def poll_line(self) -> Line | None:
        """The next line if one is waiting."""
        return None if self.source.lines.empty() else self.next_line(0)

    def wait_for(self, word: str, count: int = 1) -> float:
        """Read lines until ``count`` lines starting with ``word``; the time of the last."""
        at = 0.0
        while count > 0:
            at, line = self.next_line()
            count -= line.split(" ", 1)[0] == word
        return at

    def kill(self) -> int:
        """SIGKILL, then collect every line it printed before dying; the exit status."""
        if self.own:
            self.code = self.source.stop()
            while (item := self.source.get(None)) is not None:
                self.seen.append(item)
            return self.code
        if self.code is None:
            os.kill(self.pid, signal.SIGKILL)  # a zombie at worst: the server has not reaped it
        while self.code is None:
            item = self.source.get()
            if item is None:
                raise WorkerError("the fork server died")
            if item[1].startswith(f"exit {self.pid} "):
                self.code = int(item[1].split()[2])
            else:
                self.seen.append(item)
        return self.code

    def marks(self, word: str) -> list[tuple[float, list[str]]]:
        """The lines starting with ``word``: their times and their other words."""
        return [(t, line.split()[1:]) for t, line in self.seen if line.split(" ", 1)[0] == word]

    @property
    def started_ops(self) -> int:
        return len(self.marks("ready"))

    @property
    def finished_ops(self) -> int:
        return len(self.marks("done"))


def spawn_worker(work: Path, seed: int, articles: int, start: int, ops: int = 0) -> Worker:
    """A worker in an interpreter of its own (``--start-op I``)."""
    process = Process(worker_args(work, seed, articles, str(start), ops), work / "worker.log")
    return Worker(process, process.proc.pid, own=True)


def fork_worker(server: Process, start: int) -> Worker:
    """A worker forked by the fork server (already past the imports)."""
    server.send(str(start))
    item = server.get()
    while item is not None and not item[1].startswith("pid "):
        item = server.get()
    if item is None:
        raise WorkerError(f"the fork server exited with {server.proc.wait()}")
    return Worker(server, int(item[1].split()[1]), own=False)
