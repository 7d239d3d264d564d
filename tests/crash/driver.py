"""The crash test: build, then kill a worker again and again and judge the index after each
kill; finally one update that must finish and leave nothing behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from tests.crash.checks import check_serving, check_verify, read_state
from tests.crash.corpus import initial_state
from tests.crash.disk import snapshot
from tests.crash.judge import expected_states, judge
from tests.crash.kills import mode_of, start_and_kill
from tests.crash.layout_names import POINTER_TMP, VERSIONS, is_version
from tests.crash.process import WorkerError
from tests.crash.run import Run, build_initial
from tests.crash.tally import Tally
from tests.crash.workers import spawn_worker

#: Every CLI_EVERY-th kill (and the last) also runs ``python -m indexer verify``.
CLI_EVERY = 10


def one_kill(run: Run, kill: int, last: bool) -> bool:
    """One worker started and killed, and the checks; False when the run cannot go on."""
    mode = mode_of(kill)
    run.tally.modes[mode.split(":")[0]] += 1
    started_at = time.monotonic()
    before = snapshot(run.index_dir)
    try:
        worker = start_and_kill(run, mode, before)
    except WorkerError as exc:
        run.tally.fail("worker_errors", f"kill {kill} ({mode}): {exc}")
        return True
    code = worker.code
    if code != -signal.SIGKILL:
        run.tally.fail("worker_errors", f"kill {kill}: worker exited {code}, not by SIGKILL")
    run.learn(worker)
    run.tally.kills += 1
    judged = judge(run, worker, kill, before, use_cli=(kill + 1) % CLI_EVERY == 0 or last)
    if judged is not None and run.verbose:
        started, finished = worker.started_ops, worker.finished_ops
        print(f"kill {kill:3d}  {mode:<16} ops started {started} done {finished}  ", end="")
        print(f"{judged[0]:<8} {judged[1]:<16} {time.monotonic() - started_at:.2f} s", flush=True)
    return judged is not None


def final_update(run: Run) -> None:
    """One operation left to finish: the right state and nothing left behind."""
    tally = run.tally
    previous = run.version
    worker = spawn_worker(run.work, run.seed, run.articles, run.next_op, ops=1)
    code: int | None
    try:
        code = worker.source.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        code = None
    worker.kill()
    if code != 0 or worker.finished_ops != 1:
        tally.fail("worker_errors", f"final update: exit {code}, see {run.work / 'worker.log'}")
        return
    expected = expected_states(run, 1)[1]
    try:
        version, found, counts = read_state(run.index_dir)
    except Exception as exc:
        tally.fail("serve_failures", f"final update: open_index: {exc!r}")
        return
    problems = []
    if found != expected or counts.get("articles") != len(expected):
        problems.append("articles differ from the expected state")
    versions = run.index_dir / VERSIONS
    leftovers = [n for n in os.listdir(versions) if n.startswith(".")]
    if leftovers:
        problems.append(f"left in {VERSIONS}/: {leftovers}")
    problem = check_verify(run.index_dir, len(expected), True, tally)
    if problem is not None:
        problems.append(problem)
    problem = check_serving(run.index_dir, version, found)
    if problem is not None:
        problems.append(problem)
    if (run.index_dir / POINTER_TMP).exists():
        problems.append(f"the pointer's temporary file {POINTER_TMP} is left")
    kept = sorted(n for n in os.listdir(versions) if is_version(n))
    if kept != [previous, version]:  # keep_versions=2, grace 0: the previous and the current
        problems.append(f"versions kept: {kept}, not [{previous}, {version}]")
    for problem in problems:
        tally.fail("state_failures", f"final update: {problem}")
    tally.final_ok = not problems
    tally.ops_applied += 1


def crash_test(
    work: Path, kills: int, seed: int, articles: int, spawn: bool, verbose: bool = False
) -> Tally:
    """``kills`` workers killed on ``work/index`` (a new folder), checked after each kill."""
    started = time.monotonic()
    run = Run(work, seed, articles, spawn, random.Random(seed), initial_state(seed, articles))
    run.verbose = verbose
    build_initial(run)
    try:
        if not spawn:
            run.start_server()
        for kill in range(kills):
            if not one_kill(run, kill, last=kill == kills - 1):
                break
            if (kill + 1) % 10 == 0:
                print(f"{kill + 1} kills, {time.monotonic() - started:.1f} s", flush=True)
        else:
            run.close()
            final_update(run)
    finally:
        run.close()
    run.tally.seconds = time.monotonic() - started
    return run.tally
