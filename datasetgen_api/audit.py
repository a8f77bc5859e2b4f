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
# POST routes that change nothing (the builder validates after every edit): not audited
READ_ONLY_POSTS = frozenset({"/api/v1/pipelines/validate"})
_MAX_TEXT = 300
# values that look like an email, phone number or card number never enter a record
_ID = re.compile(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4,12}){1,4}|[0-9a-fA-F]{32,64}")
_PII = re.compile(r"[^@\s/]+@[^@\s/]+\.[A-Za-z]{2,}"
                  r"|(?<![0-9A-Za-z])\+?\d[\d\s().-]{7,}\d(?![0-9A-Za-z])")


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
    if _ID.fullmatch(text):  # run ids, uuids and hashes are not phone numbers
        return text
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
             "resource": _scrub(resource)[:500], "outcome": str(outcome)[:32],
             "details": _scrub(details or {}), "ip": (ip or None) and ip[:64],
             "user_agent": (user_agent or None) and _scrub(user_agent)[:300]}
    return (store or get_store()).append_audit(entry)


def add_details(request: Any, **details: Any) -> None:
    """Details (ids, counts) for the audit record of this request (merged by the middleware)."""
    request.state.audit_details = {**getattr(request.state, "audit_details", {}), **details}


class AuditMiddleware:
    """ASGI middleware: one audit record per mutating HTTP call (POST/PUT/PATCH/DELETE, but not
    READ_ONLY_POSTS), with the caller, route, status and the ids/counts the route added via
    `add_details`. Query values and bodies are never recorded (only the query's parameter
    names)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING \
                or scope.get("path") in READ_ONLY_POSTS:
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"status": 500}

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            await _record_http(scope, state["status"])


async def _record_http(scope: dict[str, Any], status_code: int) -> None:
    import asyncio
    import logging
    from urllib.parse import parse_qsl

    st = scope.get("state") or {}
    principal = st.get("principal")
    route = scope.get("route")
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    query = sorted({k for k, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                            keep_blank_values=True)})
    details = {"method": scope["method"], "status": status_code,
               "route": getattr(route, "path", None), **st.get("audit_details", {})}
    if query:
        details["query_params"] = query
    outcome = "ok" if status_code < 400 else "denied" if status_code in (401, 403) \
        else "error"
    client = scope.get("client")
    try:
        await asyncio.to_thread(
            record, f"http.{scope['method']}", scope.get("path", "")[:500],
            user=getattr(principal, "sub", None), details=details, outcome=outcome,
            ip=client[0] if client else None, user_agent=headers.get("user-agent"))
    except Exception:  # the response is sent; a failed audit write must be loud in the log
        logging.getLogger("datasetgen.api").exception("audit record failed for %s %s",
                                                      scope["method"], scope.get("path"))
