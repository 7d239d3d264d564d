"""``cited bench --streams N``: index the corpus as configured, then measure the server's memory
over N ``/ask/stream`` requests (:mod:`eval.bench_streams`)."""

from __future__ import annotations

from pathlib import Path

from cited.compose import Parts
from eval.bench import questions_in
from eval.bench_streams import StreamPlan, measure_streams, write_streams_report
from indexer.build import build_with_settings

#: Asked when the data folder holds no news questions (the seed article's subject).
FALLBACK = [
    "Why is a meeting between the US and Chinese defence ministers unlikely?",
    "Who is China's defence minister?",
    "Where is the Shangri-La Dialogue held?",
    "What did the Chinese embassy spokesperson say?",
]


def run_streams(parts: Parts, plan: StreamPlan, out: Path) -> str:
    """Build (or reuse) ``.cache/bench/streams-index`` from the corpus with the configured parts,
    run ``plan`` against a real server, write the report in ``out``; returns its table."""
    settings = parts.settings
    index_dir = Path(".cache/bench/streams-index")
    build_with_settings(
        list(settings.index.corpus),
        index_dir,
        parts.embedder,
        settings,
        second_stage=parts.second_stage,
    )
    questions = questions_in(settings.index.data_dir) or FALLBACK
    out.mkdir(parents=True, exist_ok=True)
    result = measure_streams(index_dir, questions, plan, out / "server.log")
    return write_streams_report(result, out)
