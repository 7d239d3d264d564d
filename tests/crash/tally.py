"""What a crash test run counts, and its summary as JSON or as a table."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

#: The failure counters :meth:`Tally.fail` adds to.
Failure = Literal["verify_failures", "serve_failures", "state_failures", "worker_errors"]


@dataclass
class Tally:
    kills: int = 0
    previous: int = 0
    new: int = 0
    verify_failures: int = 0
    serve_failures: int = 0
    state_failures: int = 0
    worker_errors: int = 0
    cli_verifies: int = 0
    ops_applied: int = 0
    final_ok: bool = False
    seconds: float = 0.0
    phases: Counter[str] = field(default_factory=Counter)
    modes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        failures = self.verify_failures + self.serve_failures + self.state_failures
        return failures + self.worker_errors == 0 and self.final_ok

    def fail(self, kind: Failure, message: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.problems.append(message)
        print(f"FAILED {message}", file=sys.stderr, flush=True)

    def outcome(self, outcome: Literal["previous", "new"]) -> None:
        """Count a kill that left the previous or the new version."""
        if outcome == "new":
            self.new += 1
        else:
            self.previous += 1


def summary(tally: Tally) -> dict[str, Any]:
    return {
        "kills": tally.kills,
        "previous": tally.previous,
        "new": tally.new,
        "verify_failures": tally.verify_failures,
        "serve_failures": tally.serve_failures,
        "state_failures": tally.state_failures,
        "worker_errors": tally.worker_errors,
        "final_ok": tally.final_ok,
        "cli_verifies": tally.cli_verifies,
        "ops_applied": tally.ops_applied,
        "seconds": round(tally.seconds, 1),
        "phases": dict(sorted(tally.phases.items())),
        "modes": dict(sorted(tally.modes.items())),
        "passed": tally.passed,
    }


def table(tally: Tally) -> Iterator[str]:
    rows: list[tuple[str, object]] = [
        ("kills", tally.kills),
        ("left the previous version", tally.previous),
        ("left the new version", tally.new),
        ("verify failures", tally.verify_failures),
        ("serve failures", tally.serve_failures),
        ("state failures", tally.state_failures),
        ("worker errors", tally.worker_errors),
        ("final update", "ok" if tally.final_ok else "FAILED"),
        ("operations applied", tally.ops_applied),
        ("cited verify runs", tally.cli_verifies),
        ("seconds", f"{tally.seconds:.1f}"),
        ("seconds per kill", f"{tally.seconds / max(1, tally.kills):.2f}"),
    ]
    for name, value in rows:
        yield f"  {name:<28}{value!s:>8}"
    yield "  phases: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.phases.items()))
    yield "  modes:  " + ", ".join(f"{k} {v}" for k, v in sorted(tally.modes.items()))
