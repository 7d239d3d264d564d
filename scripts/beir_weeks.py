"""Write the first weeks of a weekly BEIR news set (news_2023) as a BEIR folder of its own.

    python scripts/beir_weeks.py --data ../shared/data/news_2023 --weeks 10 --out DIR

Articles whose ``source_week`` and queries whose ``week`` is among the first N weeks are kept,
with the qrels of those queries: a smaller set of the same kind, for fitting settings on a
2-core machine (indexing all of news_2023 takes hours there). The output is derived data: keep
it outside the project's history.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

logger = logging.getLogger("beir_weeks")


def first_weeks(data: Path, weeks: int, out: Path) -> tuple[int, int, list[str]]:
    """Write ``out``; returns (articles, queries, the weeks kept)."""
    queries = [json.loads(line) for line in (data / "queries.jsonl").open(encoding="utf-8")]
    kept_weeks = sorted({str(q["week"]) for q in queries if q.get("week")})[:weeks]
    out.mkdir(parents=True, exist_ok=True)
    articles = 0
    with (
        (data / "corpus.jsonl").open(encoding="utf-8") as source,
        (out / "corpus.jsonl").open("w", encoding="utf-8") as target,
    ):
        for line in source:
            if str(json.loads(line).get("source_week")) in kept_weeks:
                target.write(line)
                articles += 1
    chosen = [q for q in queries if str(q.get("week")) in kept_weeks]
    with (out / "queries.jsonl").open("w", encoding="utf-8") as target:
        for query in chosen:
            target.write(json.dumps(query, ensure_ascii=False) + "\n")
    ids = {q["_id"] for q in chosen}
    (out / "qrels").mkdir(exist_ok=True)
    for split in sorted((data / "qrels").glob("*.tsv")):
        lines = split.read_text(encoding="utf-8").splitlines()
        body = [line for line in lines[1:] if line.split("\t", 1)[0] in ids]
        (out / "qrels" / split.name).write_text("\n".join([lines[0], *body]) + "\n", "utf-8")
    for extra in ("README.md",):
        if (data / extra).is_file():
            shutil.copyfile(data / extra, out / f"SOURCE-{extra}")
    return articles, len(chosen), kept_weeks


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--weeks", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    articles, queries, weeks = first_weeks(args.data, args.weeks, args.out)
    logger.info(
        "%s: %d articles, %d queries, weeks %s..%s",
        args.out,
        articles,
        queries,
        weeks[0],
        weeks[-1],
    )


if __name__ == "__main__":
    main()
