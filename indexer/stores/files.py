"""File helpers for stores that keep a segment's vectors as local files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from indexer.errors import IndexIntegrityError


def link_files(source: Path, target: Path, names: Sequence[str]) -> None:
    """Hard-link ``names`` from ``source`` into ``target`` (a copy where links fail)."""
    for name in names:
        try:
            os.link(source / name, target / name)
        except OSError:
            shutil.copy2(source / name, target / name)


def save_array(path: Path, array: np.ndarray) -> None:
    np.save(path, array, allow_pickle=False)


def load_array(path: Path, shape: tuple[int | None, ...], what: str) -> np.ndarray:
    """``path`` memory-mapped; its shape must match ``shape`` (None: any length)."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexIntegrityError(f"{path}: {what} not readable ({exc})") from exc
    if len(array.shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        expected = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise IndexIntegrityError(f"{path}: {what} of shape {array.shape}, expected {expected}")
    return array
