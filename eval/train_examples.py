"""Collected training examples on disk, so a re-fit need not retrieve every question again.

``cited train selector --examples DIR`` writes the examples it collects from each ``--news``
folder to ``DIR/<folder name>.npz`` (the rows of every question end to end, their labels and
linear scores, the feature names and the record of where they came from) and, when that file
exists, reads them from there instead of retrieving. A file collected for other features is
refused with the names of both."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from eval.beir import EvalError
from eval.train_selector import Example
from service.answering.features import FEATURES

logger = logging.getLogger(__name__)

FORMAT = "cited-train-examples/1"


def save_examples(path: Path, examples: list[Example], source: dict[str, Any]) -> None:
    """All examples of one source (at least one) in one file (rows concatenated, ``offsets``
    delimit them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sizes = [len(e.labels) for e in examples]
    with path.open("wb") as handle:
        np.savez_compressed(
            handle,
            meta=np.array(json.dumps({"format": FORMAT, "features": list(FEATURES), **source})),
            ids=np.array([e.id for e in examples]),
            groups=np.array([e.group for e in examples]),
            offsets=np.cumsum([0, *sizes]),
            rows=np.concatenate([e.rows for e in examples]),
            labels=np.concatenate([e.labels for e in examples]),
            linear=np.concatenate([e.linear for e in examples]),
        )
    logger.info("wrote %d examples to %s", len(examples), path)


def load_examples(path: Path) -> tuple[list[Example], dict[str, Any]]:
    """The examples and the source record saved by :func:`save_examples`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            ids, groups, offsets = data["ids"], data["groups"], data["offsets"]
            rows, labels, linear = data["rows"], data["labels"], data["linear"]
    except (OSError, ValueError, KeyError) as exc:
        raise EvalError(f"training examples {path} are unreadable: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise EvalError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    if tuple(meta.get("features", ())) != FEATURES:
        raise EvalError(
            f"{path} was collected for features {meta.get('features')}, this version computes "
            f"{list(FEATURES)}: delete it (or name another --examples file) to collect again"
        )
    examples = [
        Example(
            str(ids[i]),
            str(groups[i]),
            rows[offsets[i] : offsets[i + 1]],
            labels[offsets[i] : offsets[i + 1]],
            linear[offsets[i] : offsets[i + 1]],
        )
        for i in range(len(ids))
    ]
    source = {k: v for k, v in meta.items() if k not in ("format", "features")}
    logger.info("read %d examples from %s", len(examples), path)
    return examples, source
