"""Index versions on disk: each build is a new folder, published by an atomic pointer swap.

Layout of an index folder::

    index/
      CURRENT                 # the name of the published version, replaced atomically
      versions/
        v000001-20261127T130501Z/  manifest.json  store.sqlite  vectors.faiss
        .tmp-.../             # a build in progress or one that died: never read

A version folder is complete before its name is written to ``CURRENT``; a published version is
never modified.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from pathlib import Path

from indexer.errors import IndexNotFoundError

logger = logging.getLogger(__name__)

POINTER = "CURRENT"
VERSIONS = "versions"
_VERSION_RE = re.compile(r"^v(\d{6,})-\d{8}T\d{6}Z$")


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
    root = index_dir / VERSIONS
    if not root.is_dir():
        return []
    names = [p.name for p in root.iterdir() if p.is_dir() and _VERSION_RE.match(p.name)]
    return sorted(names, key=lambda n: int(_VERSION_RE.match(n).group(1)))  # type: ignore[union-attr]


def start_version(index_dir: Path) -> tuple[str, Path]:
    """Reserve the next version name and a private folder to build it in."""
    root = index_dir / VERSIONS
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):
        logger.info("removing unfinished build %s", stale)
        shutil.rmtree(stale, ignore_errors=True)
    existing = published_versions(index_dir)
    number = int(_VERSION_RE.match(existing[-1]).group(1)) + 1 if existing else 1  # type: ignore[union-attr]
    name = f"v{number:06d}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    building = root / f".tmp-{name}"
    building.mkdir()
    return name, building


def publish(index_dir: Path, name: str, building: Path) -> Path:
    """Make the built folder the current version: fsync, rename, then swap the pointer."""
    fsync_tree(building)
    final = index_dir / VERSIONS / name
    os.rename(building, final)
    fsync_dir(final.parent)
    pointer_tmp = index_dir / f".{POINTER}.tmp"
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
    folder = index_dir / VERSIONS / name
    if not _VERSION_RE.match(name) or not folder.is_dir():
        raise IndexNotFoundError(
            f"{pointer} names version {name!r}, which is not in {folder.parent}"
        )
    return name, folder
