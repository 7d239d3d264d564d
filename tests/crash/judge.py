"""Judging one kill: which expected state the index holds, whether it verifies and serves, and
which phase the kill hit."""

from __future__ import annotations

from typing import Literal

from tests.crash.checks import check_serving, check_verify, read_state
from tests.crash.corpus import State, apply_op, make_op
from tests.crash.disk import Snapshot, leftover_phase
from tests.crash.layout_names import number_of
from tests.crash.run import Run
from tests.crash.workers import Worker


def expected_states(run: Run, started: int) -> list[State]:
    """The states after 0, 1, ... ``started`` operations from ``run.next_op``."""
    states = [run.state]
    for k in range(started):
        states.append(apply_op(states[-1], make_op(run.seed, run.next_op + k, run.articles)))
    return states


def judge(
    run: Run, worker: Worker, kill: int, before: Snapshot, use_cli: bool
) -> tuple[str, str] | None:
    """Every check after one kill; adopt the state found as the next base. The outcome and
    the phase the kill hit; None when the index cannot be opened (the run cannot go on)."""
    tally = run.tally
    started, finished = worker.started_ops, worker.finished_ops
    states = expected_states(run, started)
    try:
        version, found, counts = read_state(run.index_dir)
    except Exception as exc:
        tally.fail("serve_failures", f"kill {kill}: open_index: {exc!r}")
        problem = check_verify(run.index_dir, len(states[finished]), use_cli, tally)
        tally.fail("verify_failures", f"kill {kill}: {problem}")
        return None
    allowed = [finished, started] if started > finished else [finished]
    applied = next((n for n in allowed if states[n] == found), None)
    if applied is None:
        tally.fail("state_failures", f"kill {kill}: articles match no expected state")
        applied = max(range(len(states)), key=lambda n: states[n] == found)
    if counts.get("articles") != len(states[applied]):
        tally.fail("state_failures", f"kill {kill}: manifest counts {counts}, {len(found)} found")
    problem = check_verify(run.index_dir, len(states[applied]), use_cli, tally)
    if problem is not None:
        tally.fail("verify_failures", f"kill {kill}: {problem}")
    problem = version_problem(run, worker, applied, version)
    if problem is not None:
        tally.fail("state_failures", f"kill {kill}: {problem}")
    outcome: Literal["previous", "new"] = (
        "new" if applied == started and started > 0 else "previous"
    )
    tally.outcome(outcome)
    phase = leftover_phase(run.index_dir, before, outcome, started > 0)
    tally.phases[phase] += 1
    problem = check_serving(run.index_dir, version, found)
    if problem is not None:
        tally.fail("serve_failures", f"kill {kill}: {problem}")
    run.state, run.version = found, version
    run.next_op += applied
    tally.ops_applied += applied
    return outcome, phase


def version_problem(run: Run, worker: Worker, applied: int, version: str) -> str | None:
    """The current version must be the one the last applied operation published."""
    done = {int(words[0]): words[1] for _, words in worker.marks("done")}
    if applied == 0:
        wanted: str | None = run.version
    else:
        wanted = done.get(run.next_op + applied - 1)
    if wanted is not None and version != wanted:
        return f"current version {version}, expected {wanted}"
    if wanted is None and number_of(version) <= number_of(run.version):
        return f"current version {version} is not newer than {run.version}"
    return None
