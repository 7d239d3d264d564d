"""Crash test of the live index: kill the indexer with SIGKILL at random points of an update.

The parent (:func:`tests.crash.driver.crash_test`, in the test process or from
``python -m tests.crash``) builds a small synthetic index, then again and again starts a worker
process that applies deterministic update operations and kills it with SIGKILL at a random
moment. After every kill the index must verify, hold exactly the articles of the previous or of
the new state, and serve searches from that version::

    python -m tests.crash --kills 100 [--seed S] [--dir DIR] [--articles 200] [--json]

Workers (``python -m tests.crash --worker DIR --seed S --start-op I [--ops N]``) apply
operation I, I+1, ... until killed, printing ``ready I`` just before each ``update_index`` call
and ``done I <version>`` after it. Operations are functions of (seed, operation index) alone, so
the parent knows the state before and after each one.

A new interpreter spends about 2 s importing, far longer than an update of the test index
(0.1 s), so by default the workers are forks of a fork server (``--start-op fork``) that did
the imports once: it reads a start operation per stdin line and forks a worker for it, a process
of its own that the parent kills like any other. ``--spawn`` starts every worker as a new
interpreter instead; the start-up kills and the final update always do.

Kills fall in several modes (:mod:`tests.crash.kills`): after a ``ready`` line with a delay
drawn uniformly over [0, 1.3 x the measured update time]; targeted (the parent watches the index
folder and kills the moment a phase shows: build folder, new segment, merge, BM25, manifest,
rename, pointer swap, garbage collection), since the last phases last only milliseconds; during
a new interpreter's start-up; and after several completed operations. After each kill the checks
(:mod:`tests.crash.checks`) run with no worker alive: ``verify_index`` (and
the ``verify`` command every 10th kill), the articles of the current version against the
expected states, its counts, and a search through ``service.pipeline.Pipeline``.

The names of the index's files and folders come from :mod:`tests.crash.layout_names` alone.
"""
