"""Index versions on disk: each build is a new folder, published by an atomic pointer swap.

Layout of an index folder::

    index/
      CURRENT                 # the name of the published version, replaced atomically
      .writer.lock            # one writer at a time (flock: released by the kernel on a kill)
      cache/embeddings.sqlite # vectors by (model, text hash), shared by all versions
      versions/
        v000001-20261127T130501Z/  manifest.json  deletions.json  bm25/  segments/s000001/...
        .tmp-.../             # a build in progress or one that died: never read

A version folder is complete before its name is written to ``CURRENT``; a published version is
never modified. Superseded versions are deleted once they have been superseded for a grace
period (readers that still hold one keep their open files), the newest ones never.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from indexer.errors import IndexBusyError, IndexIntegrityError, IndexNotFoundError
from indexer.layout import (
    LOCK,
    MANIFEST,
    POINTER,
    POINTER_TMP,
    TMP_PREFIX,
    TRASH_PREFIX,
    VERSION_RE,
    VERSIONS,
    building_folder,
    format_version,
    parse_version,
    trash_folder,
    version_folder,
    versions_root,
)

logger = logging.getLogger(__name__)

__all__ = [
    "LOCK",
    "POINTER",
    "VERSIONS",
    "collect_garbage",
    "current_version",
    "publish",
    "published_versions",
    "start_version",
    "version_number",
    "writer_lock",
]


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            fsync_tree(path)
        elif path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(folder)


def published_versions(index_dir: Path) -> list[str]:
    root = versions_root(index_dir)
    if not root.is_dir():
        return []
    names = [p.name for p in root.iterdir() if p.is_dir() and VERSION_RE.match(p.name)]
    return sorted(names, key=parse_version)


def start_version(index_dir: Path) -> tuple[str, Path]:
    """Reserve the next version name and a private folder to build it in (call it with the
    writer lock held: it clears what a killed writer left behind)."""
    root = versions_root(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    for stale in [*root.glob(f"{TMP_PREFIX}*"), *root.glob(f"{TRASH_PREFIX}*")]:
        logger.info("removing unfinished build %s", stale)
        shutil.rmtree(stale, ignore_errors=True)
    existing = published_versions(index_dir)
    try:
        current = version_number(current_version(index_dir)[0])
    except IndexNotFoundError as exc:
        # Only the very first build can die before any pointer exists: then v000001 is the one
        # version. More versions without a pointer means the pointer was lost: refuse, never
        # delete them.
        if len(existing) > 1 or (existing and version_number(existing[0]) != 1):
            raise IndexIntegrityError(
                f"{exc}; {len(existing)} versions exist ({existing[0]} .. {existing[-1]}): "
                f"restore the pointer (write the version to use into {index_dir / POINTER}, "
                "`cited verify --all` shows the intact ones) before changing the index"
            ) from exc
        current = 0
    for orphan in [n for n in existing if version_number(n) > current]:
        # Renamed but never made current (the writer died before the pointer swap).
        logger.info("removing unpublished version %s", orphan)
        _discard(index_dir, orphan)
    existing = [n for n in existing if version_number(n) <= current]
    name = format_version(parse_version(existing[-1]) + 1 if existing else 1)
    building = building_folder(index_dir, name)
    building.mkdir()
    return name, building


def publish(index_dir: Path, name: str, building: Path) -> Path:
    """Make the built folder the current version: fsync, rename, then swap the pointer."""
    fsync_tree(building)
    final = version_folder(index_dir, name)
    os.rename(building, final)
    fsync_dir(final.parent)
    pointer_tmp = index_dir / POINTER_TMP
    with pointer_tmp.open("w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer_tmp, index_dir / POINTER)
    fsync_dir(index_dir)
    logger.info("published index version %s", name)
    return final


def current_version(index_dir: Path) -> tuple[str, Path]:
    """The published version's name and folder; raises if nothing is published."""
    pointer = index_dir / POINTER
    if not pointer.is_file():
        raise IndexNotFoundError(
            f"no index at {index_dir} ({pointer} is missing): build one with `cited index`"
        )
    name = pointer.read_text(encoding="utf-8").strip()
    folder = version_folder(index_dir, name)
    if not VERSION_RE.match(name) or not folder.is_dir():
        raise IndexNotFoundError(
            f"{pointer} names version {name!r}, which is not in {folder.parent}"
        )
    return name, folder


def _discard(index_dir: Path, name: str) -> None:
    """Delete a version folder: renamed first (atomic), so a kill mid-delete never leaves half
    a version under a version name (the ``.trash-`` rest is cleared by the next writer)."""
    trash = trash_folder(index_dir, name)
    os.rename(version_folder(index_dir, name), trash)
    shutil.rmtree(trash, ignore_errors=True)


def version_number(name: str) -> int:
    """The number of a version name (see :func:`indexer.layout.parse_version`)."""
    return parse_version(name)


@contextmanager
def writer_lock(index_dir: Path, wait_s: float = 600.0) -> Iterator[None]:
    """Hold the index's writer lock (one writer across processes); raise after ``wait_s``."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK).open("a") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusyError(
                        f"another writer has held {index_dir / LOCK} for over {wait_s:.0f} s"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _published_at(folder: Path) -> float:
    """When a version was published: its manifest's ``created`` time (its mtime as fallback)."""
    try:
        created = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["created"]
        return datetime.fromisoformat(created).timestamp()
    except (OSError, ValueError, KeyError, TypeError):
        return folder.stat().st_mtime


def collect_garbage(index_dir: Path, grace_s: float, keep: int = 2) -> list[str]:
    """Delete versions superseded more than ``grace_s`` ago, never the ``keep`` newest up to the
    current one; versions newer than the current one (left by a writer killed between rename
    and pointer swap) are never published and go at once. Call with the writer lock held."""
    try:
        current, _ = current_version(index_dir)
    except IndexNotFoundError:
        return []
    names = published_versions(index_dir)
    now = time.time()
    number = version_number(current)
    older = [n for n in names if version_number(n) < number]
    doomed = [n for n in names if version_number(n) > number]
    protected = set(older[max(0, len(older) - (keep - 1)) :]) if keep > 1 else set()
    successor = {n: s for n, s in zip(names, [*names[1:], current], strict=True)}
    for name in older:
        superseded = _published_at(version_folder(index_dir, successor[name]))
        if name not in protected and now - superseded > grace_s:
            doomed.append(name)
    for name in doomed:
        _discard(index_dir, name)
        logger.info("deleted old index version %s", name)
    return doomed
