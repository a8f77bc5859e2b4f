"""The upload sensor's bookkeeping, as a pure function over listings and a JSON cursor.

The cursor keeps a high-water mark of LastModified and, for every object modified within a
look-back window below it, the ETag already handled. An object is new when it is inside the
window and its ETag differs from the one recorded (a new key, or an overwritten one), or when
it is newer than the mark. The window covers S3's one-second timestamps and uploads that
finish after a later, smaller one; run keys (key + ETag) make a repeat a no-op in Dagster.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from datasetgen_resources.landing import ObjectInfo

LOOKBACK_S = 300.0
SUPPORTED = (".csv", ".json", ".jsonl", ".ndjson", ".xlsx", ".parquet")
BAD_KEY_PARTS = ("...", "\a", "\b", "\f", "\n", "\r", "\t", "\v", "\0")  # Dagster forbids these


@dataclass
class Cursor:
    """High-water mark (epoch seconds) and key -> [etag, last_modified] seen near it."""

    mark: float = 0.0
    seen: dict[str, list] = field(default_factory=dict)

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(float(data.get("mark", 0.0)), dict(data.get("seen", {})))

    def dump(self) -> str:
        return json.dumps({"mark": self.mark, "seen": self.seen}, sort_keys=True)


@dataclass
class TickPlan:
    """What one tick does: objects to run, objects skipped with the reason, the next cursor,
    and how many new objects wait for a later tick (the per-tick cap)."""

    to_run: list[ObjectInfo]
    skipped: list[tuple[ObjectInfo, str]]
    cursor: Cursor
    waiting: int = 0


def skip_reason(obj: ObjectInfo, max_bytes: int, extensions: tuple[str, ...]) -> str | None:
    """Why an upload is not processed, or None."""
    if any(part in obj.key for part in BAD_KEY_PARTS):
        return "the key contains '...' or a control character"
    suffix = PurePosixPath(obj.key).suffix.lower()
    if suffix not in extensions:
        return f"unsupported file type '{suffix or '(none)'}' (supported: {', '.join(extensions)})"
    if obj.size == 0:
        return "empty file (0 bytes)"
    if obj.size > max_bytes:
        return f"too large: {obj.size:,} bytes (limit {max_bytes:,})"
    return None


def plan_tick(
    listing: Iterable[ObjectInfo],
    cursor: Cursor,
    *,
    prefix: str = "",
    pattern: str = "*",
    max_bytes: int = 200 * 1024 * 1024,
    max_runs: int = 50,
    lookback_s: float = LOOKBACK_S,
    extensions: tuple[str, ...] = SUPPORTED,
) -> TickPlan:
    """Decide one tick from a full listing; see the module docstring."""
    floor = cursor.mark - lookback_s
    fresh = sorted(
        (o for o in listing
         if o.key.startswith(prefix)
         and fnmatch.fnmatchcase(PurePosixPath(o.key).name, pattern)
         and o.last_modified >= floor
         and (cursor.seen.get(o.key) or [None])[0] != o.etag),
        key=lambda o: (o.last_modified, o.key),
    )
    to_run: list[ObjectInfo] = []
    skipped: list[tuple[ObjectInfo, str]] = []
    handled: list[ObjectInfo] = []
    for obj in fresh:
        reason = skip_reason(obj, max_bytes, extensions)
        if reason is None and len(to_run) >= max_runs:
            break  # the rest waits for the next tick, in order
        (skipped.append((obj, reason)) if reason else to_run.append(obj))
        handled.append(obj)
    mark = max([cursor.mark, *(o.last_modified for o in handled)])
    seen = {k: v for k, v in cursor.seen.items() if v[1] >= mark - lookback_s}
    seen.update({o.key: [o.etag, o.last_modified] for o in handled})
    return TickPlan(to_run, skipped, Cursor(mark, seen), waiting=len(fresh) - len(handled))
