"""Start a real server process for a test, wait until it answers, and always stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(
    args: list[str],
    ready_url: str,
    log: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Iterator[subprocess.Popen[bytes]]:
    """``python <args>`` in the repository root, its output in ``log``, until ``ready_url``
    answers 200; fails with the log when the process dies or ``timeout`` passes."""
    environment = {**os.environ, **(env or {})}
    environment.setdefault("HF_HUB_OFFLINE", "1")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    text = log.read_text(errors="replace")[-4000:]
                    raise AssertionError(f"{args} exited with {process.returncode}:\n{text}")
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"{ready_url} did not answer in {timeout} s"
                time.sleep(0.25)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
