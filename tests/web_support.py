"""Helpers of the browser tests: uvicorn serving the app (in a thread of the test process, or
as a real process) and Debian's chromium."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI

from tests.conftest import ROOT
from tests.processes import free_port, running

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-output" / "web"

#: Short news articles of different years and sources, beside the seed article.
EXTRA_ARTICLES: list[dict[str, Any]] = [
    {
        "_id": "ecb-raises-rates-2022",
        "title": "European Central Bank raises interest rates for the first time in 11 years",
        "text": (
            "The European Central Bank raised its main interest rate by half a percentage point "
            "on Thursday, its first increase in 11 years, as it tries to curb record inflation "
            "in the eurozone.\n\n"
            "The move was larger than the quarter-point rise the bank had signalled in June. "
            "Policymakers said energy prices had pushed inflation to 8.6 per cent."
        ),
        "publish_date": "2022-07-21",
        "source": "Reuters",
        "authors": ["Francesco Canepa", "Balazs Koranyi"],
        "url": "https://example.com/ecb-2022",
    },
    {
        "_id": "solar-farm-opens-2019",
        "title": "Britain's largest solar farm begins supplying the grid",
        "text": (
            "A solar farm covering 900 acres in Kent began supplying electricity to the national "
            "grid on Monday, enough to power 90,000 homes.\n\n"
            "The developer said the panels would be paired with battery storage to smooth the "
            "supply on cloudy days."
        ),
        "publish_date": "2019-05-13",
        "source": "BBC News",
        "authors": "Roger Harrabin",
    },
    {
        "_id": "museum reopens (2021) & more: v1 @guardian",
        "title": "National museum reopens after two-year renovation",
        "text": (
            "The national history museum reopened its doors on Saturday after a renovation "
            "that took two years and cost 40 million euros.\n\n"
            "Visitors queued for hours to see the restored dinosaur gallery, which now includes "
            "a full skeleton of a Tyrannosaurus rex."
        ),
        "publish_date": "2021-09-04",
        "source": "The Guardian",
        "authors": ["Jon Henley"],
    },
    {
        "_id": "rail-strike-2016",
        "title": "Rail strike halts commuter trains across the south",
        "text": (
            "Thousands of commuters were stranded on Tuesday as a strike by train conductors "
            "halted most services across the south of England.\n\n"
            "The union said the dispute over who opens and closes train doors would continue "
            "until the company agreed to keep a guard on every train."
        ),
        "publish_date": "2016-12-13",
        "source": "Reuters",
        "authors": ["Costas Pitas"],
    },
]


def write_extra_corpus(path: Path) -> Path:
    path.write_text(
        "".join(json.dumps(record) + "\n" for record in EXTRA_ARTICLES), encoding="utf-8"
    )
    return path


@contextmanager
def serve(index_dir: Path, log: Path, timeout: float = 120) -> Iterator[str]:
    """``python -m service serve`` over ``index_dir`` on a free port, its output in ``log``;
    yields its base URL."""
    port = free_port()
    env = {"CITED_INDEX_DIR": str(index_dir), "CITED_PORT": str(port)}
    base = f"http://127.0.0.1:{port}"
    with running(["-m", "service", "serve"], f"{base}/health", log, env=env, timeout=timeout):
        yield base


@contextmanager
def serve_app(app: FastAPI, timeout: float = 120) -> Iterator[str]:
    """Real uvicorn serving ``app`` in a thread of this process (its lifespan runs there, on a
    port of its own), until the block ends; yields its base URL. Built by the test, ``app`` can
    share the session's loaded models instead of a new process loading them again."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting: see the log above"
            assert time.monotonic() < deadline, f"uvicorn did not start in {timeout} s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


#: An init script: the page's ``fetch`` of ``/ask/stream`` hands the real response's body to the
#: page in 3-byte chunks (splitting events, lines and UTF-8 characters), and holds back the
#: ``answer`` event until the test calls ``window.releaseAnswer()``.
CHUNKED_AND_HELD = """
(() => {
  const realFetch = window.fetch;
  const held = new Promise((resolve) => { window.releaseAnswer = resolve; });
  window.fetch = async function (input, init) {
    const response = await realFetch(input, init);
    if (!String(input).endsWith("/ask/stream") || !response.ok) return response;
    const bytes = new Uint8Array(await response.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    const hold = new TextEncoder().encode(text.slice(0, text.indexOf("event: answer"))).length;
    const body = new ReadableStream({
      async start(controller) {
        const send = (from, to) => {
          for (let i = from; i < to; i += 3) {
            controller.enqueue(bytes.slice(i, Math.min(i + 3, to)));
          }
        };
        send(0, hold);
        await held;
        send(hold, bytes.length);
        controller.close();
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
})();
"""

#: A page script: ``fetch`` answers with a stream that breaks after part of a token event.
BROKEN_STREAM = """() => {
  window.fetch = async () => new Response(new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("event: token\\ndata: Half an ans"));
      controller.error(new TypeError("network error"));
    },
  }), { headers: { "content-type": "text/event-stream" } });
}"""


QUESTION_LABEL = "Your question about the articles"


class Shot(Protocol):
    """Saves a screenshot of ``page`` as ``name`` (the whole page unless ``full_page`` is off)."""

    def __call__(self, page: Any, name: str, full_page: bool = True) -> None: ...


def ask(page: Any, question: str) -> None:
    page.goto("/")
    box = page.get_by_label(QUESTION_LABEL)
    box.fill(question)
    box.press("Enter")


def no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide at a 375 px viewport"
