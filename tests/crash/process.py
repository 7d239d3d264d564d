"""A started interpreter seen from the parent: its stdin, and the lines it prints, timestamped
by a reader thread."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE_TIMEOUT_S = 60.0

#: A line a process printed and when it arrived (``time.monotonic``).
Line = tuple[float, str]


class WorkerError(RuntimeError):
    """A worker exited by itself or stayed silent."""


def worker_args(work: Path, seed: int, articles: int, start: str, ops: int = 0) -> list[str]:
    """``python -m tests.crash --worker ...``: a worker (or fork server) for ``work/index``."""
    args = [sys.executable, "-m", "tests.crash", "--worker", str(work / "index")]
    args += ["--seed", str(seed), "--start-op", start, "--ops", str(ops)]
    return [*args, "--articles", str(articles)]


class Process:
    """A started interpreter and the lines it prints."""

    def __init__(self, args: list[str], log: Path) -> None:
        with log.open("a") as stderr:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                bufsize=1,
                cwd=ROOT,
                env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
        self.started = time.monotonic()
        self.lines: queue.Queue[Line | None] = queue.Queue()
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.strip()))
        self.lines.put(None)

    def get(self, timeout: float | None = LINE_TIMEOUT_S) -> Line | None:
        """The next line; None at the end of the output (and for every later call)."""
        try:
            item = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise WorkerError(f"process {self.proc.pid} said nothing for {timeout} s") from None
        if item is None:
            self.lines.put(None)
        return item

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def stop(self) -> int:
        """SIGKILL (if still running); the exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait()
        self.reader.join(timeout=10)
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        if self.proc.stdout is not None and not self.reader.is_alive():
            self.proc.stdout.close()
        return code
