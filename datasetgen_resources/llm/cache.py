"""The exact LLM cache: one entry per row answer, keyed by a hash of provider, model, the
row's messages, the output schema and the parameters. Only validated answers are stored
(failed calls never are). SQLite by default; Redis or PostgreSQL when configured."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol


def cache_key(provider: str, model: str, messages: Any, schema: dict[str, Any],
              params: dict[str, Any]) -> str:
    blob = json.dumps({"provider": provider, "model": model, "messages": messages,
                       "schema": schema, "params": params},
                      sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class LLMCache(Protocol):
    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]: ...
    def put_many(self, items: dict[str, dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


class NullCache:
    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {}

    def put_many(self, items: dict[str, dict[str, Any]]) -> None:
        return None

    def close(self) -> None:
        return None


class SQLiteCache:
    """A single SQLite file (WAL mode), safe across threads and processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # a cache: no fsync per commit (WAL stays consistent; a crash loses at most the
        # last answers, which are then asked again)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS llm_cache (key TEXT PRIMARY KEY,"
                           " value TEXT NOT NULL, created REAL NOT NULL)")
        self._conn.commit()

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                q = f"SELECT key, value FROM llm_cache WHERE key IN ({marks})"
                for k, v in self._conn.execute(q, chunk):
                    out[k] = json.loads(v)
        return out

    def put_many(self, items: dict[str, dict[str, Any]]) -> None:
        if not items:
            return
        now = time.time()
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO llm_cache (key, value, created) VALUES (?, ?, ?)",
                [(k, json.dumps(v, ensure_ascii=False), now) for k, v in items.items()])
            self._conn.commit()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class RedisCache:
    """Redis (`redis://...`); entries under `datasetgen:llm:<key>`."""

    def __init__(self, url: str, ttl_seconds: int | None = None):
        import redis  # optional dependency

        self._r = redis.Redis.from_url(url)
        self.ttl = ttl_seconds

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        vals = self._r.mget([f"datasetgen:llm:{k}" for k in keys])
        return {k: json.loads(v) for k, v in zip(keys, vals, strict=True) if v is not None}

    def put_many(self, items: dict[str, dict[str, Any]]) -> None:
        pipe = self._r.pipeline()
        for k, v in items.items():
            pipe.set(f"datasetgen:llm:{k}", json.dumps(v, ensure_ascii=False), ex=self.ttl)
        pipe.execute()

    def close(self) -> None:
        self._r.close()


class PostgresCache:
    """PostgreSQL through SQLAlchemy (`postgresql+psycopg2://...`); table llm_cache."""

    def __init__(self, url: str):
        import sqlalchemy as sa

        self._sa = sa
        self._engine = sa.create_engine(url, pool_pre_ping=True)
        with self._engine.begin() as c:
            c.execute(sa.text("CREATE TABLE IF NOT EXISTS llm_cache (key TEXT PRIMARY KEY,"
                              " value TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)"))

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        sa = self._sa
        stmt = sa.text("SELECT key, value FROM llm_cache WHERE key IN :keys").bindparams(
            sa.bindparam("keys", expanding=True))
        with self._engine.connect() as c:
            return {k: json.loads(v) for k, v in c.execute(stmt, {"keys": keys})}

    def put_many(self, items: dict[str, dict[str, Any]]) -> None:
        if not items:
            return
        sa = self._sa
        stmt = sa.text("INSERT INTO llm_cache (key, value, created) VALUES (:k, :v, :t)"
                       " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
        now = time.time()
        with self._engine.begin() as c:
            c.execute(stmt, [{"k": k, "v": json.dumps(v, ensure_ascii=False), "t": now}
                             for k, v in items.items()])

    def close(self) -> None:
        self._engine.dispose()


def open_cache(backend: str, path: str | None = None, url_env: str | None = None) -> LLMCache:
    """backend: sqlite (path), redis or postgres (URL from the env var named url_env), none."""
    import os

    if backend == "none":
        return NullCache()
    if backend == "sqlite":
        return SQLiteCache(path or ".datasetgen/llm_cache.sqlite")
    if backend in {"redis", "postgres"}:
        if not url_env or not os.environ.get(url_env):
            raise ValueError(f"LLM cache backend '{backend}' needs cache_url_env naming an"
                             " environment variable that holds its URL")
        url = os.environ[url_env]
        return RedisCache(url) if backend == "redis" else PostgresCache(url)
    raise ValueError(f"unknown LLM cache backend '{backend}' (sqlite, redis, postgres, none)")


def delete_where(cache: LLMCache, predicate: Any) -> int:
    """Delete the entries for which `predicate(key, value)` is true (value: the stored dict);
    returns how many. Scans the whole cache (for erasure requests, not the hot path)."""
    if isinstance(cache, SQLiteCache):
        with cache._lock:
            doomed = [k for k, v in cache._conn.execute("SELECT key, value FROM llm_cache")
                      if predicate(k, json.loads(v))]
            for i in range(0, len(doomed), 500):
                chunk = doomed[i:i + 500]
                cache._conn.execute(f"DELETE FROM llm_cache WHERE key IN "
                                    f"({','.join('?' * len(chunk))})", chunk)
            cache._conn.commit()
        return len(doomed)
    if isinstance(cache, PostgresCache):
        sa = cache._sa
        with cache._engine.begin() as c:
            doomed = [k for k, v in c.execute(sa.text("SELECT key, value FROM llm_cache"))
                      if predicate(k, json.loads(v))]
            if doomed:
                c.execute(sa.text("DELETE FROM llm_cache WHERE key IN :keys").bindparams(
                    sa.bindparam("keys", expanding=True)), {"keys": doomed})
        return len(doomed)
    if isinstance(cache, RedisCache):
        doomed_r = []
        for full in cache._r.scan_iter(match="datasetgen:llm:*", count=500):
            raw = cache._r.get(full)
            key = full.decode()[len("datasetgen:llm:"):]
            if raw is not None and predicate(key, json.loads(raw)):
                doomed_r.append(full)
        for i in range(0, len(doomed_r), 500):
            cache._r.delete(*doomed_r[i:i + 500])
        return len(doomed_r)
    return 0


def value_hashes(row: dict[str, Any]) -> list[str]:
    """Short SHA-256 digests of a request row's cell values (as stripped text), stored beside a
    cached answer so that erasing a dataset can find the entries its rows produced without the
    cache keeping the values themselves."""
    out = []
    for v in row.values():
        if v is None or isinstance(v, (dict, list)):
            continue
        text = str(v).strip()
        if text:
            out.append(hashlib.sha256(text.encode("utf-8")).hexdigest()[:20])
    return out
