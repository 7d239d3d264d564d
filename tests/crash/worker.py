"""The worker side, in a process of its own: apply operations until killed.

``ready I`` is printed just before each ``update_index`` call and ``done I <version>`` after
it. As a fork server (start ``fork``) it does the imports once and forks one worker per start
operation read from stdin.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

from indexer.update import update_index
from tests.crash.corpus import make_op, to_articles, update_options
from tests.fakes import HashingEmbedder


def run_worker(index_dir: Path, seed: int, start: str, ops: int, articles: int) -> int:
    """Apply operations from ``start`` on until killed (or ``ops`` of them); with ``start``
    ``fork``, be a fork server: for each start read from stdin, fork a worker that does so."""
    print("loaded", flush=True)  # the imports above are the slow part of a start
    if start == "fork":
        return serve_forks(index_dir, seed, ops, articles)
    return apply_ops(index_dir, seed, int(start), ops, articles)


def apply_ops(index_dir: Path, seed: int, start: int, ops: int, articles: int) -> int:
    embedder, options = HashingEmbedder(), update_options()
    op = start
    while ops <= 0 or op < start + ops:
        change = make_op(seed, op, articles)
        print(f"ready {op}", flush=True)
        report = update_index(
            index_dir, embedder, to_articles(change.upserts), change.deletes, options=options
        )
        print(f"done {op} {report.version}", flush=True)
        op += 1
    return 0


def serve_forks(index_dir: Path, seed: int, ops: int, articles: int) -> int:
    """One forked worker per stdin line (its start op). Each child prints ``pid N`` first; its
    end is reported as ``exit N CODE``. A dead child is reaped only when the next line comes, so
    its pid stays valid for the parent's kill until then."""
    previous = 0
    for line in sys.stdin:
        if previous:
            os.waitpid(previous, 0)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _forked(index_dir, seed, int(line), ops, articles)
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        assert info is not None  # None only with WNOHANG
        code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        print(f"exit {pid} {code}", flush=True)
        previous = pid
    if previous:
        os.waitpid(previous, 0)
    return 0


def _forked(index_dir: Path, seed: int, start: int, ops: int, articles: int) -> None:
    code = 1
    try:
        print(f"pid {os.getpid()}", flush=True)
        code = apply_ops(index_dir, seed, start, ops, articles)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
