"""What a small change costs on a large index: time and new bytes per version.

    python scripts/update_bench.py --data ../shared/data/scifact [--limit N] [--real-model]

Builds an index of a BEIR corpus (the fake hashing embedder by default, so the figures show the
index's own costs: chunking, segment writing, BM25 rebuild, checksums; ``--real-model`` embeds
with the packaged model), then adds one article, replaces one and deletes one, and prints each
step's seconds and the bytes it wrote (files not shared with the previous version by hard
links) beside the version's total size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.build import read_articles  # noqa: E402
from indexer.embedders.base import Embedder  # noqa: E402
from indexer.types import Article  # noqa: E402
from indexer.update import UpdateOptions, update_index  # noqa: E402
from indexer.versions import current_version  # noqa: E402


def version_bytes(folder: Path) -> tuple[int, int]:
    """(bytes of every file, bytes of files with one link: written for this version only)."""
    total = new = 0
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            total += stat.st_size
            new += stat.st_size if stat.st_nlink == 1 else 0
    return total, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/scifact")
    parser.add_argument("--limit", type=int, default=None, help="first N articles only")
    parser.add_argument("--real-model", action="store_true")
    args = parser.parse_args()
    corpus = args.data / "corpus.jsonl"
    if not corpus.is_file():
        sys.exit(f"no BEIR corpus at {corpus}: pass --data DIR")
    embedder: Embedder
    if args.real_model:
        from indexer.embedders.sentence_transformer import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder()
    else:
        from tests.fakes import HashingEmbedder

        embedder = HashingEmbedder(dim=384, max_tokens=254)
    articles = read_articles([corpus])[: args.limit]
    options = UpdateOptions(progress=False)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        extra = Article(id="bench-new", title="A new study", text=articles[0].text)
        changed = Article(
            id=articles[1].id, title=articles[1].title, text=articles[1].text + " Updated."
        )
        steps: list[tuple[str, list[Article], list[str]]] = [
            ("build", articles, []),
            ("add 1 article", [extra], []),
            ("replace 1 article", [changed], []),
            ("delete 1 article", [], [articles[2].id]),
            ("re-add all (only the deleted one is new)", articles, []),
        ]
        for name, add, delete in steps:
            started = time.perf_counter()
            report = update_index(index_dir, embedder, add, delete, options=options)
            seconds = time.perf_counter() - started
            total, new = version_bytes(current_version(index_dir)[1])
            rows.append(
                {
                    "step": name,
                    "seconds": round(seconds, 2),
                    "embedded": report.embedded,
                    "chunks": report.chunks,
                    "segments": report.segments or None,
                    "version_mb": round(total / 1e6, 1),
                    "new_mb": round(new / 1e6, 2) if not report.up_to_date else 0.0,
                }
            )
    header = f"{'step':32} {'s':>7} {'embedded':>9} {'chunks':>7} {'version MB':>11} {'new MB':>7}"
    print(header)
    for r in rows:
        print(
            f"{r['step']:32} {r['seconds']:7.2f} {r['embedded']:9d} {r['chunks']:7d} "
            f"{r['version_mb']:11.1f} {r['new_mb']:7.2f}"
        )
    print(json.dumps({"model": embedder.name, "articles": len(articles), "steps": rows}))


if __name__ == "__main__":
    main()
