"""The audit log: who did what to which resource, when, from where, and how it ended.

Records are append-only (the database refuses UPDATE/DELETE, see datasetgen_api.store).
`details` must never hold PII: ids, counts, column names and settings only. Use:

    from datasetgen_api.audit import record
    record("pipeline.execute", "pipeline/order_uploads", user="alice",
           details={"run_id": run.run_id, "partition_count": 1}, outcome="ok")

Every mutating HTTP call is recorded by `AuditMiddleware` (installed by `create_app`), so a
route cannot forget it; routes add ids and counts through `add_details(request, ...)`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from datasetgen_api.store import Store, get_store

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_TEXT = 300
# values that look like an email, phone number or card number never enter a record
_PII = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}|\+?\d[\d\s().-]{7,}\d")


def _scrub(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of `value` with PII-looking strings replaced and long text cut."""
    if depth > 4:
        return "…"
    if isinstance(value, dict):
        return {str(k)[:100]: _scrub(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple | set):
        return [_scrub(v, depth + 1) for v in list(value)[:50]]
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    text = _PII.sub("[redacted]", text)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def record(action: str, resource: str, *, user: str | None = None,
           details: dict[str, Any] | None = None, outcome: str = "ok",
           ip: str | None = None, user_agent: str | None = None,
           store: Store | None = None) -> int:
    """Append one audit record and return its id.

    action: dotted verb, e.g. "dataset.create", "pipeline.execute", "http.POST".
    resource: what it acted on, e.g. "dataset/<id>", "pipeline/<name>", "run/<run_id>".
    user: the caller's `sub` (None: anonymous or system). outcome: "ok", "denied", "error",
    or an HTTP status as text. details: ids, counts, column names only (PII-looking strings
    are redacted anyway). store: defaults to the API's store ($DATASETGEN_API_DB_URL)."""
    entry = {"ts": time.time(), "user": user[:200] if user else None, "action": action[:200],
             "resource": resource[:500], "outcome": str(outcome)[:32],
             "details": _scrub(details or {}), "ip": (ip or None) and ip[:64],
             "user_agent": (user_agent or None) and _scrub(user_agent)[:300]}
    return (store or get_store()).append_audit(entry)


def add_details(request: Any, **details: Any) -> None:
    """Details (ids, counts) for the audit record of this request (merged by the middleware)."""
    request.state.audit_details = {**getattr(request.state, "audit_details", {}), **details}
