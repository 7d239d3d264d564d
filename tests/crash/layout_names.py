"""The one place the crash test names what an index folder holds: files, folders, the version
name pattern and the segment names an update writes.

Everything comes from :mod:`indexer.layout`, the module the writer, the reader and garbage
collection use, so a change of layout there shows here.
"""

from __future__ import annotations

from indexer.errors import IndexNotFoundError
from indexer.layout import (
    LEXICAL_DIR,
    MANIFEST,
    POINTER,
    POINTER_TMP,
    SEGMENTS,
    TMP_PREFIX,
    TRASH_PREFIX,
    VECTORS_FILE,
    VERSIONS,
    merged_segment_name,
    new_segment_name,
    parse_version,
)

__all__ = [
    "LEXICAL_DIR",
    "MANIFEST",
    "POINTER",
    "POINTER_TMP",
    "SEGMENTS",
    "TMP_PREFIX",
    "TRASH_PREFIX",
    "VECTORS_FILE",
    "VERSIONS",
    "is_version",
    "merged_segment",
    "new_segment",
    "number_of",
]


def number_of(version: str) -> int:
    """The number of a version name (``v000012-...`` -> 12); -1 for any other name."""
    try:
        return parse_version(version)
    except IndexNotFoundError:
        return -1


def is_version(name: str) -> bool:
    """Whether ``name`` is a published version's folder name."""
    return number_of(name) >= 0


def build_number(tmp_name: str) -> str:
    """The six digits of a build folder's version (``.tmp-v000012-...`` -> ``000012``)."""
    return tmp_name.removeprefix(TMP_PREFIX).split("-")[0][1:]


def new_segment(number: str) -> str:
    """The segment an update with version number ``number`` adds."""
    return new_segment_name(int(number))


def merged_segment(number: str) -> str:
    """The segment an update with version number ``number`` merges the others into."""
    return merged_segment_name(int(number))
