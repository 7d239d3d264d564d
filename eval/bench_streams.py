"""``cited bench --streams N``: server memory over N ``POST /ask/stream`` requests.

A real server (``python -m service serve``, the configured models) over an index; the streams
run in rounds from a bounded number of clients while the server's resident memory is sampled.
A leak shows as memory that keeps rising from round to round; a plateau after the first rounds
(models, caches and allocator arenas warming up) is not one. Writes ``streams.json``,
``streams.md`` (a table per round) and ``streams.png`` (RSS over time, rounds marked).
"""

from __future__ import annotations

import json
import logging
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from eval.bench_http import rss_mb, server

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamPlan:
    """``streams`` requests in ``rounds`` equal rounds from ``clients`` threads."""

    streams: int = 1000
    clients: int = 20
    rounds: int = 5

    def __post_init__(self) -> None:
        if self.streams < self.rounds or self.clients < 1 or self.rounds < 1:
            raise ValueError(
                f"need streams >= rounds >= 1 and clients >= 1, got streams={self.streams}, "
                f"rounds={self.rounds}, clients={self.clients}"
            )


class Sampler:
    """The server's RSS (MB) every ``every_s`` seconds, in a thread."""

    def __init__(self, pid: int, every_s: float = 0.5) -> None:
        self.pid, self.every_s = pid, every_s
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self.started = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every_s)

    def sample(self) -> float:
        rss = rss_mb(self.pid)["rss_mb"]
        self.samples.append((time.perf_counter() - self.started, rss))
        return rss

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def stream_once(http: httpx.Client, question: str) -> tuple[bool, int]:
    """One ``/ask/stream``, read to its ``done`` event; (ended well, events read)."""
    seen = 0
    done = False
    with http.stream("POST", "/ask/stream", json={"question": question}) as response:
        if response.status_code != 200:
            return False, 0
        for line in response.iter_lines():
            if line.startswith("event:"):
                seen += 1
                done = done or line == "event: done"
    return done, seen


def measure_streams(
    index_dir: Path, questions: list[str], plan: StreamPlan, log: Path
) -> dict[str, Any]:
    """Run ``plan`` against a real server over ``index_dir``; RSS before, per round, after."""
    if not questions:
        raise ValueError("no questions to ask")
    per_round = plan.streams // plan.rounds
    rounds: list[dict[str, Any]] = []
    with server(index_dir, log) as (base, pid):
        http = httpx.Client(base_url=base, timeout=120)
        stream_once(http, questions[0])  # first-request costs (lazy loads) out of the way
        time.sleep(1.0)
        with Sampler(pid) as sampler:
            before = sampler.sample()
            asked = 0
            for number in range(1, plan.rounds + 1):
                started = time.perf_counter()
                wanted = [questions[(asked + i) % len(questions)] for i in range(per_round)]
                asked += per_round
                with ThreadPoolExecutor(plan.clients) as pool:
                    outcomes = list(pool.map(lambda q: stream_once(http, q), wanted))
                seconds = time.perf_counter() - started
                since = started - sampler.started
                during = [rss for t, rss in sampler.samples if t >= since]
                rounds.append(
                    {
                        "round": number,
                        "streams": per_round,
                        "failed": sum(not ok for ok, _ in outcomes),
                        "seconds": round(seconds, 1),
                        "streams_per_s": round(per_round / seconds, 2),
                        "rss_peak_mb": round(max(during, default=before), 1),
                        "rss_after_mb": sampler.sample(),
                    }
                )
                logger.info("round %d: %s", number, rounds[-1])
            time.sleep(5.0)  # idle: what the server keeps once the load is gone
            after = sampler.sample()
        http.close()
        peak = rss_mb(pid)["peak_rss_mb"]
    return {
        "plan": {"streams": plan.streams, "clients": plan.clients, "rounds": plan.rounds},
        "questions": len(set(questions)),
        "rss_before_mb": before,
        "rss_after_mb": after,
        "rss_peak_mb": peak,
        "rounds": rounds,
        "growth_per_round_mb": growth_per_round(rounds),
        "median_streams_per_s": statistics.median(r["streams_per_s"] for r in rounds),
        "samples": sampler.samples,
    }


def growth_per_round(rounds: list[dict[str, Any]]) -> float:
    """The least-squares slope (MB per round) of the RSS after each round, from round 2 (the
    first warms models, caches and allocator arenas): a leak keeps it clearly above zero."""
    warm = [(r["round"], r["rss_after_mb"]) for r in rounds[1:]] or [
        (r["round"], r["rss_after_mb"]) for r in rounds
    ]
    if len(warm) < 2:
        return 0.0
    mean_x = statistics.fmean(x for x, _ in warm)
    mean_y = statistics.fmean(y for _, y in warm)
    spread = sum((x - mean_x) ** 2 for x, _ in warm)
    return round(sum((x - mean_x) * (y - mean_y) for x, y in warm) / spread, 1)


def write_streams_report(result: dict[str, Any], out: Path) -> str:
    """``streams.json``, ``streams.md`` and ``streams.png`` in ``out``; returns the table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "streams.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    plan = result["plan"]
    lines = [
        f"{plan['streams']} `POST /ask/stream` in {plan['rounds']} rounds from {plan['clients']} "
        f"clients ({result['questions']} distinct questions). Server RSS before "
        f"{result['rss_before_mb']} MB, peak {result['rss_peak_mb']} MB, after (5 s idle) "
        f"{result['rss_after_mb']} MB; RSS after each round grows by "
        f"{result['growth_per_round_mb']} MB per round from round 2 (least-squares slope).",
        "",
        "| round | streams | failed | seconds | streams/s | RSS peak MB | RSS after MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rounds"]:
        lines.append(
            f"| {r['round']} | {r['streams']} | {r['failed']} | {r['seconds']} | "
            f"{r['streams_per_s']} | {r['rss_peak_mb']} | {r['rss_after_mb']} |"
        )
    table = "\n".join(lines) + "\n"
    (out / "streams.md").write_text(table, encoding="utf-8")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4))
    times = [t for t, _ in result["samples"]]
    axis.plot(times, [rss for _, rss in result["samples"]], label="server RSS")
    axis.set_xlabel("seconds")
    axis.set_ylabel("MB")
    axis.set_title(f"Server memory over {plan['streams']} /ask/stream requests")
    axis.axhline(result["rss_before_mb"], color="grey", linestyle=":", label="before")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "streams.png", dpi=120)
    plt.close(figure)
    return table
