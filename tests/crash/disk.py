"""Looking at the index folder: what an update has added since a snapshot, and so which phase
of the update a kill hit."""

from __future__ import annotations

import os
from pathlib import Path

from tests.crash.layout_names import (
    LEXICAL_DIR,
    MANIFEST,
    POINTER,
    SEGMENTS,
    TMP_PREFIX,
    TRASH_PREFIX,
    VERSIONS,
    build_number,
    merged_segment,
    new_segment,
    number_of,
)

#: Entries as (name, inode, ctime): a folder deleted and made again under the same name can
#: get the same inode, never the same ctime (the checks between two kills take far longer).
Entry = tuple[str, int, int]
Snapshot = frozenset[Entry]


def _identity(name: str, path: Path | os.DirEntry[str]) -> Entry:
    info = path.stat(follow_symlinks=False)
    return name, info.st_ino, info.st_ctime_ns


def snapshot(index_dir: Path) -> Snapshot:
    """The entries of ``versions/`` and the pointer file, to tell what an update adds."""
    entries = {_identity(e.name, e) for e in _scan(index_dir / VERSIONS)}
    pointer = _pointer(index_dir)
    if pointer is not None:
        entries.add(pointer)
    return frozenset(entries)


def _pointer(index_dir: Path) -> Entry | None:
    try:
        return _identity(POINTER, index_dir / POINTER)
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
    for entry in _scan(index_dir / VERSIONS):
        try:
            if _identity(entry.name, entry) not in before:
                found.append(entry.name)
        except FileNotFoundError:
            continue
    return found


def _tmp_marks(tmp: Path) -> set[str]:
    """What a build folder already holds: its phase so far."""
    number = build_number(tmp.name)
    marks = {"tmp"}
    segments = tmp / SEGMENTS
    if (segments / new_segment(number)).exists():
        marks.add("segment")
    if (segments / merged_segment(number)).exists():
        marks.add("merge")
    if (tmp / LEXICAL_DIR).exists():
        marks.add("bm25")
    if (tmp / MANIFEST).exists():
        marks.add("manifest")
    return marks


def phase_marks(index_dir: Path, before: Snapshot) -> set[str]:
    """The phases of an update visible on disk since ``before`` was taken; ``rename``: a
    version folder newer than the one ``CURRENT`` names (renamed, pointer not yet swapped)."""
    marks: set[str] = set()
    try:
        current = number_of((index_dir / POINTER).read_text(encoding="utf-8").strip())
    except FileNotFoundError:
        current = -1
    if _pointer(index_dir) not in before:
        marks.add("pointer")
    for name in new_entries(index_dir, before):
        if name.startswith(TMP_PREFIX):
            marks |= _tmp_marks(index_dir / VERSIONS / name)
        elif name.startswith(TRASH_PREFIX):
            marks.add("gc")
        elif number_of(name) > current:
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
