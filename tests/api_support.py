"""Helpers of the API hardening tests: a small index built with the fake embedder."""

from __future__ import annotations

from pathlib import Path

from indexer.build import build_index
from tests.fakes import HashingEmbedder

ARTICLE = """Markets

Central bank holds rates

Policy makers wait for more data

By Jane Doe in London 2 HOURS AGO

The central bank held interest rates at {rate} per cent on Thursday. Officials said inflation
was still too high. The decision was expected by most economists.

Governor Smith said the bank would act if prices kept rising. Markets rose after the news.
"""


def build_small_index(folder: Path, embedder: HashingEmbedder, articles: int = 3) -> Path:
    """``articles`` short news stories in ``folder/corpus``, indexed into ``folder/index``."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i in range(articles):
        (corpus / f"story-{i}.txt").write_text(ARTICLE.format(rate=i + 4))
    index_dir = folder / "index"
    build_index([corpus], index_dir, embedder, progress=False)
    return index_dir
