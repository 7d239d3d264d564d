"""The one place the crash test names what an index folder holds: files, folders, the version
name pattern and the segment names an update writes.

Everything is imported from the indexer (its writer and reader use the same names), so a change
of layout there shows here; only what the indexer does not export as a name is spelled out.
"""

from __future__ import annotations

from indexer.errors import IndexNotFoundError
from indexer.manifest import MANIFEST
from indexer.segments import SEGMENTS, VECTORS_FILE
from indexer.update import LEXICAL_DIR
from indexer.versions import POINTER, VERSIONS, version_number

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

#: A version being built (``versions/.tmp-<name>``) and one being deleted (``.trash-<name>``).
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"
#: The pointer's temporary file, written and then renamed over :data:`POINTER`.
POINTER_TMP = f".{POINTER}.tmp"


def number_of(version: str) -> int:
    """The number of a version name (``v000012-...`` -> 12); -1 for any other name."""
    try:
        return version_number(version)
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
    return f"s{number}"


def merged_segment(number: str) -> str:
    """The segment an update with version number ``number`` merges the others into."""
    return f"m{number}"
