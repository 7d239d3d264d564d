"""Parallel /search and /ask against a real uvicorn process (the real model) while the index is
changed several times, by the admin API and by another writer: zero failed requests, and no
client ever sees an older version after a newer one."""

from __future__ import annotations

import json
import shutil
import statistics
import threading
import time
from pathlib import Path

import httpx

from indexer.build import build_index
from indexer.embedders.base import Embedder
from indexer.types import Article
from indexer.update import UpdateOptions, update_index
from indexer.versions import current_version
from tests.conftest import ROOT, SEED, SEED_QUESTION
from tests.processes import free_port, running

TOKEN = "concurrency-token"
CLIENTS = 6
QUESTIONS = [
    SEED_QUESTION,
    "Who is the US defence secretary?",
    "What did China say about sanctions?",
    "Which harbour reopened after the storm?",
]
NEW_ARTICLES = [
    {
        "id": f"harbour-{n}",
        "title": f"Harbour reopens after storm {n}",
        "text": f"The harbour at Port {n} reopened on Monday after the storm. "
        "Fishing boats returned to the quay within hours.",
        "published": "2024-01-0" + str(n + 1),
    }
    for n in range(3)
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def test_no_request_fails_while_the_index_changes(tmp_path: Path, real_embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, real_embedder, progress=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "CITED_INDEX_DIR": str(index_dir),
        "CITED_ADMIN_TOKEN": TOKEN,
        "CITED_RELOAD_INTERVAL_S": "0.2",
        "CITED_VERSION_GRACE_S": "0",
    }
    stop = threading.Event()
    records: list[tuple[str, int, float, str]] = []  # (route, status, ms, version)
    failures: list[str] = []
    regressions: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        last = ""
        with httpx.Client(base_url=base, timeout=60) as http:
            i = 0
            while not stop.is_set():
                question = QUESTIONS[(number + i) % len(QUESTIONS)]
                body: dict[str, object]
                if i % 2:
                    route, body = "/ask", {"question": question}
                else:
                    mode = ("hybrid", "dense", "bm25")[i % 3]
                    route, body = "/search", {"query": question, "k": 5, "mode": mode}
                started = time.perf_counter()
                try:
                    response = http.post(route, json=body)
                    status = response.status_code
                    version = response.json().get("index_version", "") if status == 200 else ""
                except httpx.HTTPError as exc:
                    status, version = 0, ""
                    with lock:
                        failures.append(f"{route}: {exc!r}")
                ms = (time.perf_counter() - started) * 1e3
                with lock:
                    records.append((route, status, ms, version))
                    if status != 200 and status:
                        failures.append(f"{route}: {status} {response.text[:200]}")
                    if version and version < last:
                        regressions.append(f"client {number}: {version} after {last}")
                last = max(last, version)
                i += 1

    published: list[str] = []
    log = ROOT / "test-output" / "concurrency-server.log"
    log.parent.mkdir(exist_ok=True)
    with running(["-m", "service", "serve", "--port", str(port)], f"{base}/health", log, env=env):
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(2)
            with httpx.Client(
                base_url=base, timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as admin:
                for article in NEW_ARTICLES[:2]:  # through the admin API
                    response = admin.post("/articles", json=article)
                    assert response.status_code == 200, response.text
                    published.append(response.json()["version"])
                    time.sleep(1)
                # Another writer (a `cited index` run) while the service serves.
                extra = NEW_ARTICLES[2]
                update_index(
                    index_dir,
                    real_embedder,
                    [Article(id=extra["id"], title=extra["title"], text=extra["text"])],
                    options=UpdateOptions(progress=False, grace_s=0),
                )
                published.append(current_version(index_dir)[0])
                time.sleep(1.5)
                response = admin.delete("/articles/harbour-0")
                assert response.status_code == 200, response.text
                published.append(response.json()["version"])
                time.sleep(1.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
        health = httpx.get(f"{base}/health").json()

    assert not failures, failures[:5]
    assert not regressions, regressions[:5]
    assert health["index_version"] == published[-1] and health["articles"] == 3
    seen = {version for *_, version in records}
    assert len(seen) >= 3, seen  # clients were served across the swaps
    report = {"requests": len(records), "failed": len(failures), "versions_seen": sorted(seen)}
    for route in ("/search", "/ask"):
        times = [ms for r, status, ms, _ in records if r == route and status == 200]
        assert times, route
        report[route] = {
            "n": len(times),
            "p50_ms": round(statistics.median(times), 1),
            "p99_ms": round(percentile(times, 0.99), 1),
        }
    (ROOT / "test-output" / "concurrency.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
