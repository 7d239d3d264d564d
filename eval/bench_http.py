"""Query latency over HTTP: a real uvicorn process on a large index, 1 and 8 clients."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from indexer.embedders.base import Embedder
from indexer.types import Article
from indexer.update import BuildReport, UpdateOptions, update_index

logger = logging.getLogger(__name__)


def routes(modes: list[str], default: str) -> list[tuple[str, str]]:
    """``/search`` in every mode the served index can run, then ``/ask`` in the default mode
    (what the service answers with when a request names none)."""
    if default not in modes:
        raise RuntimeError(f"the default mode {default!r} is not among the index's {modes}")
    return [*(("/search", mode) for mode in modes), ("/ask", default)]


def repeated(articles: list[Article], copies: int) -> list[Article]:
    """``copies`` of every article under distinct ids (``<id>~2``, ...): an archive with
    syndicated copies, at no embedding cost (the cache knows every copy's texts)."""
    out = list(articles)
    for n in range(2, copies + 1):
        out += [dataclasses.replace(a, id=f"{a.id}~{n}") for a in articles]
    return out


def build_large_index(
    articles: list[Article], index_dir: Path, embedder: Embedder, options: UpdateOptions
) -> BuildReport:
    """The benchmark index, built as the settings say (reused when its articles are unchanged)."""
    return update_index(index_dir, embedder, articles, prune=True, options=options)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    index_dir: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """``python -m service serve`` on a free port; yields (base URL, pid) once /health answers."""
    port = _free_port()
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "CITED_INDEX_DIR": str(index_dir),
        "CITED_RELOAD_INTERVAL_S": "0",
        **(env or {}),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(port)],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 600
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
                try:
                    if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer within 600 s (log {log})")
                time.sleep(0.5)
            yield base, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def rss_mb(pid: int) -> dict[str, float]:
    """The process's resident memory now and at its peak (Linux /proc)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return {
        "rss_mb": round(fields.get("VmRSS", 0.0), 1),
        "peak_rss_mb": round(fields.get("VmHWM", 0.0), 1),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(base: str, route: str, mode: str, questions: list[str], clients: int) -> dict[str, Any]:
    """Send every question once, from ``clients`` threads; latency percentiles and the median
    of each stage the server reports."""
    latencies: list[float] = []
    stages: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    parts = [questions[i::clients] for i in range(clients)]

    def work(part: list[str]) -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            for question in part:
                body: dict[str, Any] = (
                    {"query": question, "k": 10, "mode": mode}
                    if route == "/search"
                    else {"question": question, "mode": mode}
                )
                started = time.perf_counter()
                response = http.post(route, json=body)
                ms = (time.perf_counter() - started) * 1e3
                with lock:
                    if response.status_code != 200:
                        errors.append(f"{response.status_code} {response.text[:200]}")
                        continue
                    latencies.append(ms)
                    for stage, value in response.json()["timings_ms"].items():
                        stages.setdefault(stage, []).append(value)

    threads = [threading.Thread(target=work, args=(part,)) for part in parts]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if not latencies:
        raise RuntimeError(f"every {route} request failed: {errors[:3]}")
    return {
        "route": route,
        "mode": mode,
        "clients": clients,
        "requests": len(latencies),
        "errors": len(errors),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "throughput_rps": round(len(latencies) / wall, 2),
        "stages_p50_ms": {k: round(statistics.median(v), 2) for k, v in stages.items()},
    }


def measure_http(
    index_dir: Path,
    questions: list[str],
    per_run: int,
    log: Path,
    env: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each route and mode at 1 and 8 clients, every run with questions no other run asked
    (the service caches query vectors: a repeated question would be free). The modes are the
    ones the server says the index can run (``/health``), the default among them; returns the
    runs and the server (modes, default mode, memory)."""
    runs: list[dict[str, Any]] = []
    with server(index_dir, log, env) as (base, pid):
        health = httpx.get(f"{base}/health", timeout=30).json()
        plan = routes(list(health["modes"]), str(health["mode"]))
        needed = per_run * len(plan) * 2 + 5
        if len(questions) < needed:
            questions = (questions * (needed // max(1, len(questions)) + 1))[:needed]
            logger.warning("fewer distinct questions than requests: some repeat (cached vectors)")
        warm = questions[-5:]
        load(base, "/ask", health["mode"], warm, 1)  # first-request costs out of the way
        offset = 0
        for clients in (1, 8):
            for route, mode in plan:
                part = questions[offset : offset + per_run]
                offset += per_run
                runs.append(load(base, route, mode, part, clients))
                logger.info("%s %s x%d: p50 %.1f ms", route, mode, clients, runs[-1]["p50_ms"])
        memory = rss_mb(pid)
    return runs, {"modes": health["modes"], "default_mode": health["mode"], "memory": memory}
