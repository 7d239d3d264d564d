"""``python -m tests.crash``: the crash test from the command line (see :mod:`tests.crash`),
and the worker mode its parent starts."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import tests.crash


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    doc = tests.crash.__doc__
    parser = argparse.ArgumentParser(
        prog="python -m tests.crash", description=doc.split("\n\n")[0] if doc else None
    )
    parser.add_argument("--kills", type=int, default=100, help="kills to survive (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="seed of articles, operations, delays")
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    parser.add_argument("--articles", type=int, default=200, help="articles of the first build")
    parser.add_argument("--json", action="store_true", help="also print the summary as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per kill")
    parser.add_argument(
        "--spawn",
        action="store_true",
        help="start every worker as a new interpreter (about 2 s of imports per kill) instead "
        "of forking it from a worker that has done its imports once",
    )
    parser.add_argument("--worker", type=Path, metavar="INDEX", help=argparse.SUPPRESS)
    parser.add_argument("--start-op", default="0", help=argparse.SUPPRESS)
    parser.add_argument("--ops", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def work_folder(given: Path | None) -> tuple[Path, bool]:
    """The work folder and whether it is a temporary one."""
    if given is None:
        return Path(tempfile.mkdtemp(prefix="cited-crash-")), True
    given.mkdir(parents=True, exist_ok=True)
    if (given / "index").exists():
        raise SystemExit(f"{given / 'index'} exists: give an empty or new folder")
    return given, False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is not None:
        from tests.crash.worker import run_worker  # the worker imports only what it needs

        return run_worker(args.worker, args.seed, args.start_op, args.ops, args.articles)
    from tests.crash.driver import crash_test
    from tests.crash.tally import summary, table

    work, temporary = work_folder(args.dir)
    tally = crash_test(work, args.kills, args.seed, args.articles, args.spawn, args.verbose)
    print(f"crash test: seed {args.seed}, {args.articles} articles, work folder {work}")
    for line in table(tally):
        print(line)
    for problem in tally.problems[:20]:
        print(f"  problem: {problem}")
    if temporary and tally.passed:
        shutil.rmtree(work, ignore_errors=True)
    elif temporary:
        print(f"kept {work} for a look")
    if args.json:
        print(json.dumps(summary(tally)))
    return 0 if tally.passed else 1


if __name__ == "__main__":
    sys.exit(main())
