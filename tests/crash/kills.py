"""How a worker is killed: the schedule of kill modes and each mode's moment."""

from __future__ import annotations

import time

from tests.crash.disk import Snapshot, phase_marks
from tests.crash.run import Run
from tests.crash.workers import Worker

DELAY_SPAN = 1.3
#: Phases a targeted kill waits for, in turn; the short last ones (the only ones that leave the
#: new version) come round more often.
TARGETS = (
    "pointer",
    "gc",
    "rename",
    "manifest",
    "pointer",
    "bm25",
    "segment",
    "gc",
    "merge",
    "tmp",
)


def mode_of(kill: int) -> str:
    """A fixed schedule of kill modes (the delays themselves are random)."""
    if kill == 0:
        return "several"
    if kill % 4 == 1:
        return "target:" + TARGETS[(kill // 4) % len(TARGETS)]
    if kill % 13 == 3:
        return "startup"
    if kill % 11 == 7:
        return "several"
    return "uniform"


def kill_after_ready(run: Run, worker: Worker) -> None:
    worker.wait_for("ready")
    time.sleep(run.rng.uniform(0, DELAY_SPAN * run.duration()))
    worker.kill()


def kill_on_phase(run: Run, worker: Worker, target: str, before: Snapshot) -> bool:
    """Kill the moment ``target`` shows on disk; at ``done`` when it never does (False)."""
    worker.wait_for("ready")
    deadline = time.monotonic() + 10 * run.duration() + 5
    while time.monotonic() < deadline:
        if target in phase_marks(run.index_dir, before):
            worker.kill()
            return True
        line = worker.poll_line()
        if line is not None and line[1].startswith("done"):
            break
        time.sleep(0.0002)
    worker.kill()
    return False


def start_and_kill(run: Run, mode: str, before: Snapshot) -> Worker:
    """Start the operations at ``run.next_op`` in a worker and kill it as ``mode`` says."""
    worker = run.new_worker(mode)
    try:
        if mode == "startup":
            time.sleep(run.rng.uniform(0, run.startup()))
        elif mode == "several":
            worker.wait_for("done", run.rng.randint(2, 4))
            kill_after_ready(run, worker)
        elif mode.startswith("target:"):
            target = mode.split(":", 1)[1]
            if not kill_on_phase(run, worker, target, before):
                run.tally.modes[f"missed {target}"] += 1
        else:
            kill_after_ready(run, worker)
    finally:
        worker.kill()
    return worker
