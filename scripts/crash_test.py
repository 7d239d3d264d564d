"""Crash test of the live index: kill the indexer with SIGKILL at random points of an update.

Parent mode (the default) builds a small synthetic index, then again and again starts a worker
process that applies deterministic update operations and kills it with SIGKILL at a random
moment. After every kill the index must verify, hold exactly the articles of the previous or of
the new state, and serve searches from that version::

    python scripts/crash_test.py --kills 100 [--seed S] [--dir DIR] [--articles 200] [--json]

Worker mode (started by the parent) applies operation I, I+1, ... until it is killed, printing
``ready I`` just before each ``update_index`` call and ``done I <version>`` after it::

    python scripts/crash_test.py --worker DIR --seed S --start-op I [--ops N]

Operations are functions of (seed, operation index) alone, so the parent knows the state
before and after each one.

A new interpreter spends about 2 s importing (nltk alone 1.6 s), far longer than an update of
the test index (0.1 s), so by default the workers are forks of a fork server,
``--start-op fork``, that did the imports once: it reads a start operation per stdin line and
forks a worker for it, a process of its own that the parent kills like any other. ``--spawn``
starts every worker as a new interpreter instead (about 3 s per kill); the start-up kills and
the final update always do.

Kills fall in several modes: after a ``ready`` line with a delay drawn uniformly over
[0, 1.3 x the measured update time]; targeted (the parent watches the index folder and kills
the moment a phase shows: build folder, new segment, merge, BM25, manifest, rename, pointer
swap, garbage collection), since the last phases last only milliseconds; during a new
interpreter's start-up; and after several completed operations. After each kill the checks
run with no worker alive: ``verify_index`` (and ``python -m indexer verify`` every 10th kill),
the articles of the current version against the expected states, its counts, and a search
through ``service.pipeline.Pipeline``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from indexer.types import Article
    from indexer.update import UpdateOptions

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()

#: Articles are ``(title, text)`` by id; an index state is the set of its live articles.
State = dict[str, tuple[str, str]]

QUERY = "council budget harbour storm festival"
DELAY_SPAN = 1.3
LINE_TIMEOUT_S = 60.0
CLI_EVERY = 10
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
_VERSION_RE = re.compile(r"^v(\d{6,})-\d{8}T\d{6}Z$")

SUBJECTS = (
    "The council",
    "Dr. Okafor",
    "The harbour authority",
    "A spokesperson for the U.N.",
    "Local farmers",
    "The railway company",
    "Museum staff",
    "The finance minister",
    "Residents of Millbrook",
    "Emergency crews",
    "The orchestra",
    "Teachers at St. Anne's school",
)
VERBS = (
    "announced",
    "criticised",
    "delayed",
    "approved",
    "investigated",
    "celebrated",
    "postponed",
    "reviewed",
    "questioned",
    "welcomed",
)
OBJECTS = (
    "the new budget",
    "plans for a bridge over the river",
    "the flood defences",
    "a vaccine programme",
    "the harvest festival",
    "rising ticket prices",
    "the winter tour",
    "a drought warning",
    "the school timetable",
    "repairs to the pier",
    "the storm damage report",
    "a museum extension",
)
TAILS = (
    "on Monday",
    "after a long debate",
    "despite objections from the parish",
    "at 9 a.m. on Friday",
    "for the third time this year",
    "with a budget of 4.5 million",
    "following last week's storm",
    "in a statement to reporters",
    "before the election",
    "",
)
ASIDES = (
    "Critics said the decision came too late.",
    "Nobody was hurt.",
    "The vote was close.",
    "A final report is expected in March.",
    "Officials declined to comment further.",
    "Some residents remain unconvinced!",
    "Will the money arrive in time?",
)


# --- Synthetic articles and deterministic operations -----------------------------------------


def _sentence(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return rng.choice(ASIDES)
    tail = rng.choice(TAILS)
    words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), tail]
    return " ".join(w for w in words if w) + "."


def article_content(seed: int, op: int, article_id: str) -> tuple[str, str]:
    """The ``(title, text)`` operation ``op`` gives ``article_id`` (op -1: the initial build)."""
    rng = random.Random(f"{seed}:{op}:{article_id}")
    title = f"{rng.choice(OBJECTS).capitalize()} ({article_id})"
    paragraphs = []
    for _ in range(rng.randint(1, 2)):
        paragraphs.append(" ".join(_sentence(rng) for _ in range(rng.randint(2, 5))))
    return title, "\n\n".join(paragraphs)


def pool_ids(articles: int) -> list[str]:
    """The ids operations draw from: the initial ones and as many again half over."""
    return [f"doc-{n:05d}" for n in range(articles * 3 // 2)]


def initial_state(seed: int, articles: int) -> State:
    return {i: article_content(seed, -1, i) for i in pool_ids(articles)[:articles]}


@dataclass(frozen=True)
class Op:
    """Upsert these articles (new ids or new texts), then delete these ids (disjoint)."""

    upserts: dict[str, tuple[str, str]]
    deletes: tuple[str, ...]


def make_op(seed: int, op: int, articles: int) -> Op:
    rng = random.Random(f"{seed}:op:{op}")
    chosen = rng.sample(pool_ids(articles), rng.randint(3, 7))
    split = rng.randint(2, len(chosen) - 1)
    upserts = {i: article_content(seed, op, i) for i in chosen[:split]}
    return Op(upserts, tuple(chosen[split:]))


def apply_op(state: State, op: Op) -> State:
    after = dict(state)
    after.update(op.upserts)
    for article_id in op.deletes:
        after.pop(article_id, None)
    return after


def to_articles(contents: dict[str, tuple[str, str]]) -> list[Article]:
    from indexer.types import Article

    return [Article(id=i, title=t, text=x, source="crash") for i, (t, x) in contents.items()]


def update_options() -> UpdateOptions:
    from indexer.update import UpdateOptions

    return UpdateOptions(progress=False, grace_s=0, keep_versions=2, max_segments=4)


# --- Worker ----------------------------------------------------------------------------------


def run_worker(index_dir: Path, seed: int, start: str, ops: int, articles: int) -> int:
    """Apply operations from ``start`` on until killed (or ``ops`` of them); with ``start``
    ``fork``, be a fork server: for each start read from stdin, fork a worker that does so."""
    sys.path.insert(0, str(ROOT))
    import indexer.update  # noqa: F401  (the imports are the slow part of a start)
    import tests.fakes  # noqa: F401

    print("loaded", flush=True)
    if start == "fork":
        return serve_forks(index_dir, seed, ops, articles)
    return apply_ops(index_dir, seed, int(start), ops, articles)


def apply_ops(index_dir: Path, seed: int, start: int, ops: int, articles: int) -> int:
    from indexer.update import update_index
    from tests.fakes import HashingEmbedder

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


# --- Worker processes, seen from the parent --------------------------------------------------


class WorkerError(RuntimeError):
    """A worker exited by itself or stayed silent."""


Line = tuple[float, str]


class Process:
    """A started interpreter and the lines it prints, timestamped by a reader thread."""

    def __init__(self, args: list[str], log: Path):
        with log.open("a") as stderr:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                bufsize=1,
                cwd=ROOT,
                env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
        self.started = time.monotonic()
        self.lines: queue.Queue[Line | None] = queue.Queue()
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line.strip()))
        self.lines.put(None)

    def get(self, timeout: float | None = LINE_TIMEOUT_S) -> Line | None:
        """The next line; None at the end of the output (and for every later call)."""
        try:
            item = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise WorkerError(f"process {self.proc.pid} said nothing for {timeout} s") from None
        if item is None:
            self.lines.put(None)
        return item

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def stop(self) -> int:
        """SIGKILL (if still running); the exit status."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait()
        self.reader.join(timeout=10)
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        return code


def worker_args(work: Path, seed: int, articles: int, start: str, ops: int = 0) -> list[str]:
    args = [sys.executable, str(SCRIPT), "--worker", str(work / "index"), "--seed", str(seed)]
    return [*args, "--start-op", start, "--ops", str(ops), "--articles", str(articles)]


class Worker:
    """One worker process: an interpreter of its own or a child of the fork server."""

    def __init__(self, source: Process, pid: int, own: bool):
        self.source = source
        self.pid = pid
        self.own = own
        self.seen: list[Line] = []
        self.code: int | None = None

    def next_line(self, timeout: float = LINE_TIMEOUT_S) -> Line:
        """The worker's next line; raises when it ended by itself or stayed silent."""
        item = self.source.get(timeout)
        if item is None:
            raise WorkerError(f"worker {self.pid} exited with {self.source.proc.wait()}")
        if item[1].startswith(f"exit {self.pid} "):
            self.code = int(item[1].split()[2])
            raise WorkerError(f"worker {self.pid} exited with {self.code}")
        self.seen.append(item)
        return item

    def poll_line(self) -> Line | None:
        """The next line if one is waiting."""
        return None if self.source.lines.empty() else self.next_line(0)

    def wait_for(self, word: str, count: int = 1) -> float:
        """Read lines until ``count`` lines starting with ``word``; the time of the last."""
        at = 0.0
        while count > 0:
            at, line = self.next_line()
            count -= line.split(" ", 1)[0] == word
        return at

    def kill(self) -> int:
        """SIGKILL, then collect every line it printed before dying; the exit status."""
        if self.own:
            self.code = self.source.stop()
            while (item := self.source.get(None)) is not None:
                self.seen.append(item)
            return self.code
        if self.code is None:
            os.kill(self.pid, signal.SIGKILL)  # a zombie at worst: the server has not reaped it
        while self.code is None:
            item = self.source.get()
            if item is None:
                raise WorkerError("the fork server died")
            if item[1].startswith(f"exit {self.pid} "):
                self.code = int(item[1].split()[2])
            else:
                self.seen.append(item)
        return self.code

    def marks(self, word: str) -> list[tuple[float, list[str]]]:
        return [(t, line.split()[1:]) for t, line in self.seen if line.split(" ", 1)[0] == word]


def spawn_worker(work: Path, seed: int, articles: int, start: int, ops: int = 0) -> Worker:
    """A worker in an interpreter of its own (``--start-op I``)."""
    process = Process(worker_args(work, seed, articles, str(start), ops), work / "worker.log")
    return Worker(process, process.proc.pid, own=True)


def fork_worker(server: Process, start: int) -> Worker:
    """A worker forked by the fork server (already past the imports)."""
    server.send(str(start))
    item = server.get()
    while item is not None and not item[1].startswith("pid "):
        item = server.get()
    if item is None:
        raise WorkerError(f"the fork server exited with {server.proc.wait()}")
    return Worker(server, int(item[1].split()[1]), own=False)


# --- Looking at the index folder ---------------------------------------------------------------


#: Entries as (name, inode, ctime): a folder deleted and made again under the same name can
#: get the same inode, never the same ctime (the checks between two kills take far longer).
Entry = tuple[str, int, int]
Snapshot = frozenset[Entry]


def _identity(name: str, path: Path | os.DirEntry[str]) -> Entry:
    info = path.stat(follow_symlinks=False)
    return name, info.st_ino, info.st_ctime_ns


def snapshot(index_dir: Path) -> Snapshot:
    """The entries of ``versions/`` and the pointer file, to tell what an update adds."""
    entries = {_identity(e.name, e) for e in _scan(index_dir / "versions")}
    pointer = _pointer(index_dir)
    if pointer is not None:
        entries.add(pointer)
    return frozenset(entries)


def _pointer(index_dir: Path) -> Entry | None:
    try:
        return _identity("CURRENT", index_dir / "CURRENT")
    except FileNotFoundError:
        return None


def _scan(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except FileNotFoundError:
        return []


def new_entries(index_dir: Path, before: Snapshot) -> list[str]:
    """Names in ``versions/`` that are not what they were in ``before``."""
    found = []
    for entry in _scan(index_dir / "versions"):
        try:
            if _identity(entry.name, entry) not in before:
                found.append(entry.name)
        except FileNotFoundError:
            continue
    return found


def _tmp_marks(tmp: Path) -> set[str]:
    """What a build folder already holds: its phase so far."""
    number = tmp.name.split("-")[1][1:]
    marks = {"tmp"}
    segments = tmp / "segments"
    if (segments / f"s{number}").exists():
        marks.add("segment")
    if (segments / f"m{number}").exists():
        marks.add("merge")
    if (tmp / "bm25").exists():
        marks.add("bm25")
    if (tmp / "manifest.json").exists():
        marks.add("manifest")
    return marks


def phase_marks(index_dir: Path, before: Snapshot) -> set[str]:
    """The phases of an update visible on disk since ``before`` was taken; ``rename``: a
    version folder newer than the one ``CURRENT`` names (renamed, pointer not yet swapped)."""
    marks: set[str] = set()
    try:
        current = _number((index_dir / "CURRENT").read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        current = -1
    if _pointer(index_dir) not in before:
        marks.add("pointer")
    for name in new_entries(index_dir, before):
        if name.startswith(".tmp-"):
            marks |= _tmp_marks(index_dir / "versions" / name)
        elif name.startswith(".trash-"):
            marks.add("gc")
        elif _number(name) > current:
            marks.add("rename")
    return marks


def leftover_phase(index_dir: Path, before: Snapshot, outcome: str, started: bool) -> str:
    """Where the kill landed, judged by what it left behind."""
    marks = phase_marks(index_dir, before)
    if "gc" in marks:
        return "gc"
    if "rename" in marks:
        return "rename->pointer"
    for mark in ("manifest", "bm25", "merge", "segment", "tmp"):
        if mark in marks:
            return f"build:{mark}"
    if not started:
        return "startup"
    return "after-publish" if outcome == "new" else "before-build"


# --- Checks after a kill -------------------------------------------------------------------------


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

    def fail(self, kind: str, message: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        self.problems.append(message)
        print(f"FAILED {message}", file=sys.stderr, flush=True)


def check_verify(index_dir: Path, expected: int, use_cli: bool, tally: Tally) -> str | None:
    """``verify_index`` of the current version (its article count must be ``expected``) and of
    every kept one, and when asked ``python -m indexer verify``; a problem or None."""
    from indexer.verify import verify_index

    results = list(verify_index(index_dir))
    if len(results) != 1 or results[0][1] is not None:
        return f"verify_index: {results}"
    if results[0][2].get("articles") != expected:
        return f"verify_index counts {results[0][2]}, expected {expected} articles"
    for name, problem, _ in verify_index(index_dir, all_versions=True):
        if problem is not None:
            return f"verify_index --all: kept version {name}: {problem}"
    if use_cli:
        tally.cli_verifies += 1
        done = subprocess.run(
            [sys.executable, "-m", "indexer", "verify", "--index", str(index_dir)],
            cwd=ROOT,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            return f"cited verify exit {done.returncode}: {done.stderr.strip()}"
    return None


def read_state(index_dir: Path) -> tuple[str, State, dict[str, int]]:
    """The current version's name, its articles and its manifest counts (``open_index``)."""
    from indexer.index import open_index

    index = open_index(index_dir)
    try:
        state = {a.id: (a.title, a.text) for a, _ in index.store.articles()}
        return index.version, state, index.counts
    finally:
        index.close()


def check_serving(index_dir: Path, version: str, state: State) -> str | None:
    """A search through the service's pipeline answers from ``version``'s articles."""
    from cited.config import Settings
    from service.pipeline import Pipeline
    from tests.fakes import HashingEmbedder

    pipeline = Pipeline.open(Settings(index_dir=index_dir), HashingEmbedder())
    try:
        if pipeline.index.version != version:
            return f"the service opened {pipeline.index.version}, the current one is {version}"
        passages = pipeline.search(QUERY, 5).passages
        if not passages and state:
            return "the search found nothing"
        for p in passages:
            if p.article_id not in state or state[p.article_id][1][p.start : p.end] != p.text:
                return f"passage {p.chunk_id} of {p.article_id!r} is not in version {version}"
    finally:
        pipeline.close()
    return None


# --- The crash test ----------------------------------------------------------------------------


@dataclass
class Run:
    """The parent's view: where the index is and what it must hold."""

    work: Path
    seed: int
    articles: int
    spawn: bool
    rng: random.Random
    state: State
    version: str = ""
    next_op: int = 0
    durations: list[float] = field(default_factory=list)
    startups: list[float] = field(default_factory=list)
    server: Process | None = None
    verbose: bool = False
    tally: Tally = field(default_factory=Tally)

    @property
    def index_dir(self) -> Path:
        return self.work / "index"

    def duration(self) -> float:
        """The mean time of an update (``ready`` to ``done``) lately."""
        recent = self.durations[-30:]
        return statistics.fmean(recent) if recent else 0.3

    def startup(self) -> float:
        """The median time from a worker's start to the end of its imports."""
        return statistics.median(self.startups[-10:]) if self.startups else 2.0

    def start_server(self) -> None:
        args = worker_args(self.work, self.seed, self.articles, "fork")
        self.server = Process(args, self.work / "worker.log")
        item = self.server.get()
        if item is None or item[1] != "loaded":
            raise WorkerError(f"the fork server did not start: see {self.work / 'worker.log'}")
        self.startups.append(item[0] - self.server.started)

    def new_worker(self, mode: str) -> Worker:
        """A worker starting at ``next_op``: forked, unless start-up is to be killed too."""
        if mode == "startup" or self.spawn or self.server is None:
            return spawn_worker(self.work, self.seed, self.articles, self.next_op)
        return fork_worker(self.server, self.next_op)

    def learn(self, worker: Worker) -> None:
        """Update times from a worker's lines: start-up, and each ``ready``->``done``."""
        loaded = worker.marks("loaded")
        if loaded and worker.own:
            self.startups.append(loaded[0][0] - worker.source.started)
        readies = {words[0]: t for t, words in worker.marks("ready")}
        for t, words in worker.marks("done"):
            if words[0] in readies:
                self.durations.append(t - readies[words[0]])

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def build_initial(run: Run) -> None:
    from indexer.update import update_index
    from tests.fakes import HashingEmbedder

    report = update_index(
        run.index_dir, HashingEmbedder(), to_articles(run.state), options=update_options()
    )
    assert report.version is not None
    run.version = report.version


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
    started, finished = len(worker.marks("ready")), len(worker.marks("done"))
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
    outcome = "new" if applied == started and started > 0 else "previous"
    setattr(tally, outcome, getattr(tally, outcome) + 1)
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
    if wanted is None and _number(version) <= _number(run.version):
        return f"current version {version} is not newer than {run.version}"
    return None


def _number(version: str) -> int:
    match = _VERSION_RE.match(version)
    return int(match.group(1)) if match else -1


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
        started, finished = len(worker.marks("ready")), len(worker.marks("done"))
        print(f"kill {kill:3d}  {mode:<16} ops started {started} done {finished}  ", end="")
        print(f"{judged[0]:<8} {judged[1]:<16} {time.monotonic() - started_at:.2f} s", flush=True)
    return judged is not None


def final_update(run: Run) -> None:
    """One operation left to finish: the right state and nothing left behind."""
    tally = run.tally
    previous = run.version
    worker = spawn_worker(run.work, run.seed, run.articles, run.next_op, ops=1)
    try:
        code = worker.source.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        code = None
    worker.kill()
    if code != 0 or len(worker.marks("done")) != 1:
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
    leftovers = [n for n in os.listdir(run.index_dir / "versions") if n.startswith(".")]
    if leftovers:
        problems.append(f"left in versions/: {leftovers}")
    problem = check_verify(run.index_dir, len(expected), True, tally)
    if problem is not None:
        problems.append(problem)
    problem = check_serving(run.index_dir, version, found)
    if problem is not None:
        problems.append(problem)
    if (run.index_dir / ".CURRENT.tmp").exists():
        problems.append("the pointer's temporary file .CURRENT.tmp is left")
    kept = sorted(n for n in os.listdir(run.index_dir / "versions") if _VERSION_RE.match(n))
    if kept != [previous, version]:  # keep_versions=2, grace 0: the previous and the current
        problems.append(f"versions kept: {kept}, not [{previous}, {version}]")
    for problem in problems:
        tally.fail("state_failures", f"final update: {problem}")
    tally.final_ok = not problems
    tally.ops_applied += 1


def crash_test(
    work: Path, kills: int, seed: int, articles: int, spawn: bool, verbose: bool = False
) -> Tally:
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


# --- Command line ------------------------------------------------------------------------------


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
    rows = [
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
        yield f"  {name:<28}{value:>8}"
    yield "  phases: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.phases.items()))
    yield "  modes:  " + ", ".join(f"{k} {v}" for k, v in sorted(tally.modes.items()))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
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
        return run_worker(args.worker, args.seed, args.start_op, args.ops, args.articles)
    sys.path.insert(0, str(ROOT))
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
