"""WebSocket /api/v1/events: run events of the caller's workspace as JSON.

Authenticate with `?token=<jwt>` or, without it, a first message `{"token": "<jwt>"}`; the
caller needs `pipeline.read`. Messages:

    {"type": "pipeline.started",   "run_id", "pipeline", "job", "status", "ts"}
    {"type": "pipeline.progress",  "run_id", "pipeline", "step", "step_id", "step_status",
                                   "done", "total"[, "error"]}
    {"type": "pipeline.completed", "run_id", "pipeline", "status", "done", "total"}

`step` is Dagster's step key, `step_id` the pipeline's step id it runs (null for other steps);
a FAILURE carries the step's failure `error` (PII-looking values masked, fetched once per
failed step).

They come from polling Dagster's run records (cursor: the last update time seen) and the step
stats of the runs still active; each event is sent once per connection. Query parameters:
`pipeline` (only that pipeline), `since` (epoch seconds: also replay runs updated since then).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, WebSocket, WebSocketDisconnect

from datasetgen_api.dagster_client import (
    FINISHED,
    Dagster,
    DagsterUnavailable,
    RunInfo,
    RunNotFound,
    get_dagster,
    step_id_of,
)
from datasetgen_api.security import Principal, decode_token

router = APIRouter(prefix="/api/v1", tags=["events"])
PERMISSION = "pipeline.read"
POLICY_VIOLATION = 1008
STARTED = frozenset({"STARTING", "STARTED", "CANCELING", *FINISHED})


def poll_seconds() -> float:
    return float(os.environ.get("DATASETGEN_EVENTS_POLL_SECONDS", "1.0"))


def run_workspace(run: RunInfo) -> str:
    return (run.tags.get("datasetgen/workspace") or run.tags.get("workspace") or "default")


@dataclass
class EventTracker:
    """What a connection has already sent: turns successive run snapshots into new events."""

    cursor: float
    pipeline: str | None = None
    visible: Callable[[RunInfo], bool] = lambda run: True
    started: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    # (run_id) -> {step key: failure message}, e.g. Dagster.step_errors; None: no messages
    step_errors: Callable[[str], dict[str, str]] | None = None
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    asked: set[tuple[str, str]] = field(default_factory=set)

    @property
    def active(self) -> list[str]:
        return [r for r in self.started if r not in self.completed]

    def events(self, run: RunInfo) -> list[dict[str, Any]]:
        """The events of `run` not sent yet (nothing for runs of other pipelines/workspaces)."""
        if (run.pipeline is None or (self.pipeline and run.pipeline != self.pipeline)
                or not self.visible(run) or run.run_id in self.completed):
            return []
        if run.update_time:
            self.cursor = max(self.cursor, run.update_time)
        out: list[dict[str, Any]] = []
        base = {"run_id": run.run_id, "pipeline": run.pipeline}
        if run.run_id not in self.started and run.status in STARTED:
            self.started.add(run.run_id)
            out.append({"type": "pipeline.started", **base, "job": run.job_name,
                        "status": run.status, "ts": run.start_time})
        if run.run_id not in self.started:
            return out  # still queued
        seen = self.steps.setdefault(run.run_id, {})
        for step in run.steps:
            if step.status != "NOT_STARTED" and seen.get(step.key) != step.status:
                seen[step.key] = step.status
                event = {"type": "pipeline.progress", **base, "step": step.key,
                         "step_id": step_id_of(step.key, run.pipeline),
                         "step_status": step.status, "done": run.done, "total": len(run.steps)}
                if step.status == "FAILURE":
                    event["error"] = self.error(run.run_id, step.key)
                out.append(event)
        if run.status in FINISHED:
            self.completed.add(run.run_id)
            out.append({"type": "pipeline.completed", **base, "status": run.status,
                        "done": run.done, "total": len(run.steps), "ts": run.end_time})
        return out

    def error(self, run_id: str, step_key: str) -> str | None:
        """The failure message of a failed step: the run's failures are fetched again only
        for a step not seen failed before (once per failed step)."""
        known = self.errors.setdefault(run_id, {})
        if step_key not in known and (run_id, step_key) not in self.asked \
                and self.step_errors is not None:
            self.asked.add((run_id, step_key))
            try:
                known.update(self.step_errors(run_id))
            except (DagsterUnavailable, RunNotFound):
                return None
        return known.get(step_key)

    def poll(self, dagster: Dagster) -> list[dict[str, Any]]:
        """One polling round: runs updated since the cursor (1 s overlap: update times of the
        same second are not lost; the sets above drop repeats) and every active run."""
        runs = {r.run_id: r for r in dagster.runs(pipeline=self.pipeline,
                                                   updated_after=self.cursor - 1.0, limit=100)}
        for run_id in self.active:
            if run_id not in runs:
                try:
                    runs[run_id] = dagster.run(run_id)
                except RunNotFound:  # deleted from the instance: nothing more will come
                    self.completed.add(run_id)
        ordered = sorted(runs.values(), key=lambda r: (r.update_time or 0, r.run_id))
        return [e for run in ordered for e in self.events(run)]


def ws_principal(websocket: WebSocket, token: str | None = Query(
        None, description="JWT access token (or send {\"token\": ...} first)")) -> str | None:
    """The token from the query (checked in the handler, where the socket can be closed)."""
    return token


ws_principal.permission = PERMISSION  # type: ignore[attr-defined]


async def _authenticate(websocket: WebSocket, token: str | None) -> Principal | None:
    if token is None:
        try:
            first = await asyncio.wait_for(websocket.receive_json(), timeout=10)
        except (TimeoutError, ValueError, WebSocketDisconnect):
            first = None
        token = first.get("token") if isinstance(first, dict) else None
        if not isinstance(token, str):
            await websocket.close(POLICY_VIOLATION, "send {\"token\": \"<jwt>\"} first "
                                                    "or connect with ?token=<jwt>")
            return None
    try:
        principal = decode_token(token)
    except HTTPException as exc:
        await websocket.close(POLICY_VIOLATION, str(exc.detail)[:120])
        return None
    if not principal.can(PERMISSION):
        await websocket.close(POLICY_VIOLATION, f"permission '{PERMISSION}' required")
        return None
    return principal


@router.websocket("/events")
async def events(websocket: WebSocket, token: str | None = Depends(ws_principal),
                 pipeline: str | None = Query(None, max_length=200),
                 since: float | None = Query(None, ge=0),
                 dagster: Dagster = Depends(get_dagster)) -> None:
    """Stream pipeline.started / pipeline.progress / pipeline.completed events."""
    await websocket.accept()
    principal = await _authenticate(websocket, token)
    if principal is None:
        return
    tracker = EventTracker(cursor=since if since is not None else time.time(),
                           pipeline=pipeline,
                           visible=lambda run: principal.sees_workspace(run_workspace(run)),
                           # a stand-in without failure messages sends errors as null
                           step_errors=getattr(dagster, "step_errors", None))
    closed = asyncio.Event()
    watcher = asyncio.create_task(_watch(websocket, closed))
    try:
        if since is None:  # runs active when the client connects are reported too
            for event in await asyncio.to_thread(_active_events, tracker, dagster, pipeline):
                await websocket.send_json(event)
        while not closed.is_set():
            try:
                batch = await asyncio.to_thread(tracker.poll, dagster)
            except DagsterUnavailable as exc:
                batch = [{"type": "error", "message": str(exc)}]
            for event in batch:
                await websocket.send_json(event)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), timeout=poll_seconds())
    except (WebSocketDisconnect, RuntimeError):
        return  # the client went away while we were sending
    finally:
        watcher.cancel()


def _active_events(tracker: EventTracker, dagster: Dagster,
                   pipeline: str | None) -> list[dict[str, Any]]:
    """The events of the runs not finished yet (in a thread: a failure fetches its error)."""
    return [e for run in dagster.runs(pipeline=pipeline, limit=100)
            if run.status not in FINISHED for e in tracker.events(run)]


async def _watch(websocket: WebSocket, closed: asyncio.Event) -> None:
    """Set `closed` when the client disconnects (messages after the token are ignored)."""
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        closed.set()
