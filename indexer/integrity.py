"""Damage in a version's files, found by checking every file against its manifest entry.

Versions share segment files through hard links, so one damaged file usually damages every
version that holds it: :func:`newest_intact` looks for the newest version whose files all
verify, and :mod:`indexer.repair` writes a new version without the damaged files.

Checking costs one sha256 pass over the version's bytes: about 1.47 GB/s on one core of the
reference machine, for about 6.7 kB per chunk (news, 384-d vectors and second stage), so 4.6 s
of one core at 1M chunks (docs/RELIABILITY.md).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import IndexIntegrityError
from indexer.manifest import Manifest, file_problem
from indexer.versions import current_version, published_versions, version_number

logger = logging.getLogger(__name__)

#: What an operator runs when no version verifies (or to replace a damaged one).
REPAIR_COMMAND = "cited repair"

#: A version's files as the file system last described them: (name, size, mtime_ns, inode).
Fingerprint = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True)
class Damage:
    """One damaged file of a version: its path in the version folder and what is wrong."""

    file: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


def find_damage(folder: Path, manifest: Manifest) -> list[Damage]:
    """Every file of the version at ``folder`` whose size or sha256 disagrees with
    ``manifest`` (or that is missing), in name order; empty when the version is intact."""
    damage = []
    for name, expected in sorted(manifest.files.items()):
        problem = file_problem(folder / name, expected)
        if problem is not None:
            damage.append(Damage(name, problem))
    return damage


def fingerprint(folder: Path) -> Fingerprint:
    """Size, modification time and inode of every file under ``folder``: when it changes (a
    file restored, replaced or repaired), a version refused for damage is worth another try."""
    stamps = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            rel = path.relative_to(folder).as_posix()
            stamps.append((rel, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(sorted(stamps))


@dataclass(frozen=True)
class Skipped:
    """A version passed over because it does not verify."""

    version: str
    problem: str

    def __str__(self) -> str:
        return f"version {self.version} skipped: {self.problem}"


def candidate_versions(index_dir: Path) -> list[str]:
    """The current version, then the older published ones, newest first."""
    current, _ = current_version(index_dir)
    number = version_number(current)
    older = [n for n in published_versions(index_dir) if version_number(n) < number]
    return [current, *reversed(older)]


def no_intact_version(index_dir: Path, skipped: list[Skipped]) -> IndexIntegrityError:
    """The error when no version of ``index_dir`` verifies: each one's reason and the repair."""
    reasons = "; ".join(str(s) for s in skipped)
    return IndexIntegrityError(
        f"no version of {index_dir} verifies ({reasons}). Run `{REPAIR_COMMAND} --index "
        f"{index_dir}` to rebuild the damaged segments from the stored articles and the "
        "embedding cache (it names what it cannot recover; give it the corpus files to "
        "re-read those)"
    )
