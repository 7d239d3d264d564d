"""Embeddings cached by (model, exact text): re-chunking or re-adding an article re-embeds nothing
that was embedded before.

The cache is one SQLite file beside the versions (``index/cache/embeddings.sqlite``), written
in WAL mode and committed per batch, so a killed indexer loses at most the batch in flight. It
is a cache: a damaged file is moved aside and started afresh, never trusted for a result.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    key BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
) WITHOUT ROWID;
"""


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Vectors of one model by the sha256 of the text the model saw."""

    def __init__(self, path: Path, model: str, dim: int):
        self.path = path
        self.model = model
        self.dim = dim
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = self._connect()
        except sqlite3.DatabaseError as exc:
            aside = path.with_name(path.name + ".damaged")
            logger.warning("embedding cache %s is damaged (%s): moved to %s", path, exc, aside)
            path.replace(aside)
            self.conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        conn.execute("SELECT COUNT(*) FROM vectors WHERE model = ?", (self.model,)).fetchone()
        return conn

    def get(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        for offset in range(0, len(keys), 500):
            part = keys[offset : offset + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                [self.model, *part],
            ).fetchall()
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (self.dim,):
                    found[bytes(key)] = vector
        return found

    def put(self, keys: list[bytes], vectors: np.ndarray) -> None:
        rows = [
            (self.model, key, np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for key, v in zip(keys, vectors, strict=True)
        ]
        self.conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
        self.conn.commit()

    def embed(
        self,
        texts: list[str],
        encode: Callable[[list[str]], np.ndarray],
        batch: int = 256,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors of ``texts`` (n, dim), encoding only the unknown ones; returns how many were
        encoded. ``progress`` is called with the number of texts done after each step."""
        keys = [text_key(t) for t in texts]
        known = self.get(list(dict.fromkeys(keys)))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: dict[bytes, list[int]] = {}
        for position, key in enumerate(keys):
            if key in known:
                out[position] = known[key]
            else:
                missing.setdefault(key, []).append(position)
        if progress is not None and len(texts) - sum(map(len, missing.values())):
            progress(len(texts) - sum(map(len, missing.values())))
        todo = list(missing)
        for offset in range(0, len(todo), batch):
            part = todo[offset : offset + batch]
            vectors = encode([texts[missing[k][0]] for k in part])
            self.put(part, vectors)
            for key, vector in zip(part, vectors, strict=True):
                out[missing[key]] = vector
            if progress is not None:
                progress(sum(len(missing[k]) for k in part))
        return out, len(todo)

    def close(self) -> None:
        self.conn.close()
