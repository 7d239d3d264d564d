"""Every name in an index folder, in one place: the writer, the reader, GC and the crash test use
these and spell no file name of their own.

Layout::

    index/
      CURRENT                 # POINTER: the published version's name, replaced atomically
      .CURRENT.tmp            # POINTER_TMP: the next pointer while it is written
      .writer.lock            # LOCK: one writer at a time
      cache/embeddings.sqlite # CACHE_FILE: vectors by (model, text hash), shared by versions
      versions/               # VERSIONS
        v000001-20261127T130501Z/     # a version (VERSION_PATTERN)
          manifest.json  deletions.json  bm25/  segments/
            s000001/  store.sqlite  chunk_ids.npy  vectors.npy  [ann.faiss]  [rerank.npy]
            m000003/  (a merged segment)
        .tmp-v.../            # TMP_PREFIX: a build in progress or one that died: never read
        .trash-v.../          # TRASH_PREFIX: a version being deleted

Which files a segment's vectors take is the vector store's business (:mod:`indexer.stores`);
the names the FAISS store writes are here so old indexes keep their layout.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from indexer.errors import IndexNotFoundError

# The index folder.
POINTER = "CURRENT"
POINTER_TMP = f".{POINTER}.tmp"
LOCK = ".writer.lock"
VERSIONS = "versions"
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"
CACHE_FILE = Path("cache") / "embeddings.sqlite"

# Version names: ``v`` + number (6 digits or more) + ``-`` + UTC time of the build.
VERSION_PATTERN = r"^v(\d{6,})-\d{8}T\d{6}Z$"
VERSION_RE = re.compile(VERSION_PATTERN)

# A version folder.
MANIFEST = "manifest.json"
DELETIONS_FILE = "deletions.json"
LEXICAL_DIR = "bm25"
SEGMENTS = "segments"

# A segment folder.
STORE_FILE = "store.sqlite"
IDS_FILE = "chunk_ids.npy"
VECTORS_FILE = "vectors.npy"
#: The FAISS store's approximate index, written only for large segments.
ANN_FILE = "ann.faiss"
#: Second-stage vectors, one row per chunk (see :mod:`indexer.second_stage.leads`); the file
#: keeps the name old indexes have.
SECOND_STAGE_FILE = "rerank.npy"
NEW_SEGMENT_PREFIX = "s"
MERGED_SEGMENT_PREFIX = "m"


def format_version(number: int, at: float | None = None) -> str:
    """The name of version ``number`` built at ``at`` (seconds since the epoch; default now)."""
    if number < 1:
        raise ValueError(f"version numbers start at 1, got {number}")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at))
    return f"v{number:06d}-{stamp}"


def parse_version(name: str) -> int:
    """The number of a version name; raises :class:`IndexNotFoundError` for other names."""
    match = VERSION_RE.match(name)
    if match is None:
        raise IndexNotFoundError(f"{name!r} is not a version name (vNNNNNN-YYYYMMDDTHHMMSSZ)")
    return int(match.group(1))


def new_segment_name(version_number: int) -> str:
    """The segment a version writes for its new and changed articles."""
    return f"{NEW_SEGMENT_PREFIX}{version_number:06d}"


def merged_segment_name(version_number: int) -> str:
    """The segment a version writes when it merges its segments into one."""
    return f"{MERGED_SEGMENT_PREFIX}{version_number:06d}"


def versions_root(index_dir: Path) -> Path:
    return index_dir / VERSIONS


def version_folder(index_dir: Path, name: str) -> Path:
    return index_dir / VERSIONS / name


def building_folder(index_dir: Path, name: str) -> Path:
    """The private folder version ``name`` is built in before it is renamed to its name."""
    return index_dir / VERSIONS / f"{TMP_PREFIX}{name}"


def trash_folder(index_dir: Path, name: str) -> Path:
    """Where version ``name`` is renamed to while it is deleted."""
    return index_dir / VERSIONS / f"{TRASH_PREFIX}{name}"


def segment_folder(version: Path, segment: str) -> Path:
    """A segment's folder inside a version (or building) folder."""
    return version / SEGMENTS / segment


def segment_path(segment: str, file: str) -> str:
    """A segment file's path relative to its version folder, as the manifest lists it."""
    return f"{SEGMENTS}/{segment}/{file}"


def cache_path(index_dir: Path) -> Path:
    """The default embedding cache of an index."""
    return index_dir / CACHE_FILE
