"""The optional semantic cache (off by default): a row whose text embeds within a cosine
threshold of an already answered row, under the same provider, model, instruction, schema
and parameters, gets that row's cached answer. Vectors live in a SQLite file beside the exact
cache; answers stay in the exact cache (so failed calls are never reused here either)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np


class SemanticIndex:
    """namespace -> (exact cache key, unit vector) rows, searched by cosine similarity."""

    def __init__(self, path: str | Path, threshold: float = 0.95) -> None:
        if not 0 < threshold <= 1:
            raise ValueError("semantic cache threshold must be in (0, 1]")
        self.threshold = threshold
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.execute("CREATE TABLE IF NOT EXISTS semantic (namespace TEXT, key TEXT, "
                           "vec BLOB, PRIMARY KEY (namespace, key))")
        self._lock = threading.Lock()

    def nearest(self, namespace: str, vectors: np.ndarray) -> list[tuple[str, float] | None]:
        """For each query vector: (key, similarity) of the closest stored row at or above the
        threshold, else None."""
        with self._lock:
            rows = self._conn.execute("SELECT key, vec FROM semantic WHERE namespace = ?",
                                      (namespace,)).fetchall()
        if not rows or len(vectors) == 0:
            return [None] * len(vectors)
        keys = [k for k, _ in rows]
        matrix = np.stack([np.frombuffer(v, dtype=np.float32) for _, v in rows])
        sims = vectors @ matrix.T
        best = sims.argmax(axis=1)
        return [(keys[j], float(sims[i, j])) if sims[i, j] >= self.threshold else None
                for i, j in enumerate(best)]

    def add(self, namespace: str, keys: list[str], vectors: np.ndarray) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO semantic VALUES (?, ?, ?)",
                [(namespace, k, v.astype(np.float32).tobytes()) for k, v in
                 zip(keys, vectors, strict=True)])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
