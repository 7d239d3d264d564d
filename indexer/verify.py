"""``cited verify``: open versions the way the service does and report what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from indexer.errors import CitedError
from indexer.index import open_version
from indexer.layout import version_folder
from indexer.versions import current_version, published_versions


def verify_index(
    index_dir: Path, *, all_versions: bool = False
) -> Iterator[tuple[str, str | None, dict[str, int]]]:
    """``(version, problem or None, counts)`` for the current version (or every version).

    A version passes when its manifest reads, every file matches its size and sha256, and the
    counts of the manifest, the SQLite segments, the vectors and BM25 agree.
    """
    try:
        current, _ = current_version(index_dir)
    except CitedError as exc:
        yield str(index_dir), str(exc), {}
        return
    names = published_versions(index_dir) if all_versions else [current]
    for name in names:
        try:
            index = open_version(version_folder(index_dir, name), verify=True)
        except CitedError as exc:
            yield name, str(exc), {}
            continue
        counts = index.counts
        index.close()
        yield name, None, counts
