"""/api/v1/pipelines: pipeline files and their runs, executed through Dagster.

A pipeline belongs to the workspace in its `tags: {workspace: ...}` ("default" without one);
callers see only their workspace's pipelines unless admin (others' are 404). Executing launches
the pipeline's `<name>_job` through the Dagster webserver (run queue, daemon, visible in the UI)
and is audited; the API process never runs steps itself.
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field

from datasetgen_api import pipelines_store as store
from datasetgen_api.dagster_client import (
    Dagster,
    DagsterUnavailable,
    RunInfo,
    RunNotFound,
    TerminateRefused,
    get_dagster,
)
from datasetgen_api.responses import errors
from datasetgen_api.security import Principal, require
from datasetgen_assets.errors import PipelineValidationError
from datasetgen_assets.pipeline.spec import Pipeline

router = APIRouter(prefix="/api/v1/pipelines", tags=["pipelines"],
                   responses=errors(401, 403, 404, 409, 422, 503))


class PipelineCreate(BaseModel):
    yaml: str = Field(description="The pipeline file's YAML text (as `datasetgen validate` "
                                  "accepts it).", max_length=1_000_000)


class PipelinePatch(BaseModel):
    yaml: str | None = Field(None, description="New YAML text (same name).",
                             max_length=1_000_000)
    description: str | None = Field(None, description="New description.", max_length=5000)


def _summary(p: Pipeline) -> dict[str, Any]:
    return {"name": p.name, "description": p.spec.description,
            "workspace": store.workspace_of(p), "owners": p.spec.owners,
            "steps": len(p.spec.steps), "schedule": p.spec.schedule,
            "upload_trigger": p.spec.upload is not None, "job": f"{p.name}_job",
            "writable": store.is_writable(p)}


def _detail(p: Pipeline, runs: list[dict[str, Any]] | None,
            dagster_error: str | None = None) -> dict[str, Any]:
    from pathlib import Path

    return {**_summary(p), "spec": p.spec.model_dump(mode="json", exclude_none=True),
            "order": p.order,
            "step_list": [{"id": s.id, "type": s.type, "depends_on": s.depends_on}
                          for s in p.spec.steps],
            "yaml": Path(p.file).read_text(encoding="utf-8"),
            "last_runs": runs, "dagster_error": dagster_error}


def _invalid(exc: PipelineValidationError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         detail={"message": str(exc), "errors": store.error_dicts(exc)})


def _visible(name: str, principal: Principal) -> Pipeline:
    p = store.find(name)
    if p is None or not principal.sees_workspace(store.workspace_of(p)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no pipeline '{name}'")
    return p


def _read_only(p: Pipeline) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT,
                         detail=f"pipeline '{p.name}' comes from {p.file}, outside the API's "
                                "pipelines folder: change that file in the repository")


def _unavailable(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc))


def _reload(dagster: Dagster) -> str | None:
    """Reload the code location; the error text when Dagster could not be reached."""
    try:
        dagster.reload()
        return None
    except DagsterUnavailable as exc:
        return f"{exc}; the pipeline is saved and loads when the code location reloads"


def _check_workspace(text: str, principal: Principal, current: str | None = None) -> None:
    """403 when the YAML's tags.workspace is not one the caller may write: another workspace
    than theirs (non-admins), or a move of an existing pipeline (`current`) by a non-admin."""
    _, named = store.with_workspace(text, principal.workspace)
    if named is None or principal.is_admin:
        return
    if current is not None and named != current:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"only admins move a pipeline to another workspace: keep "
                                   f"tags.workspace '{current}'")
    if not principal.sees_workspace(named):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"tags.workspace '{named}' is not your workspace "
                                   f"'{principal.workspace}': remove it or use your own")


def _audit(request: Request, principal: Principal, action: str, resource: str,
           details: dict[str, Any], outcome: str = "ok") -> None:
    from datasetgen_api.audit import record

    client = request.client.host if request.client else None
    record(action, resource, user=principal.sub, details=details, outcome=outcome,
           ip=client, user_agent=request.headers.get("user-agent"))


@router.get("")
def list_pipelines(principal: Principal = Depends(require("pipeline.read")),
                   limit: int = Query(100, ge=1, le=1000),
                   offset: int = Query(0, ge=0)) -> dict[str, Any]:
    """Pipelines of the caller's workspace (all for admins); admins also get the load errors
    of broken files."""
    found, errors = store.list_pipelines()
    items = [_summary(p) for p in found if principal.sees_workspace(store.workspace_of(p))]
    out: dict[str, Any] = {"items": items[offset:offset + limit], "total": len(items),
                           "limit": limit, "offset": offset}
    if principal.is_admin:
        out["errors"] = [str(e) for e in errors]
    return out


@router.post("", status_code=status.HTTP_201_CREATED)
def create_pipeline(body: PipelineCreate,
                    principal: Principal = Depends(require("pipeline.create")),
                    dagster: Dagster = Depends(get_dagster)) -> dict[str, Any]:
    """Validate the YAML (422 with every located problem), save it into the pipelines folder
    and reload the code location so its job exists."""
    _check_workspace(body.yaml, principal)
    try:
        p = store.save_new(body.yaml, principal.workspace)
    except PipelineValidationError as exc:
        raise _invalid(exc) from None
    return _detail(p, [], _reload(dagster))


class PipelineCheck(BaseModel):
    yaml: str = Field(description="The pipeline YAML to check (nothing is saved).",
                      max_length=1_000_000)


# the column inference reads the header line of the files the sources name: only callers who
# may save (and so run) a pipeline get it, a viewer cannot read file headers through it
READS_FILES = ("pipeline.create", "pipeline.update")


@router.post("/validate")
def validate_pipeline(body: PipelineCheck,
                      principal: Principal = Depends(require("pipeline.read")),
                      existing: str | None = Query(
                          None, max_length=200,
                          description="Name of the pipeline being edited (its own name is "
                                      "then not 'already used')")) -> dict[str, Any]:
    """Check pipeline YAML with the validator of `datasetgen validate` (and create's name
    check) without saving or reaching Dagster: `valid`, every located error (`step`, `field`,
    `line`), the columns known per step (null when unknown) and the step order. Invalid YAML is
    a 200 with `valid: false`. Column checks against source files need pipeline.create or
    pipeline.update."""
    return store.check(body.yaml, existing,
                       read_files=any(principal.can(p) for p in READS_FILES))


@router.get("/{name}")
def get_pipeline(name: str, principal: Principal = Depends(require("pipeline.read")),
                 dagster: Dagster = Depends(get_dagster)) -> dict[str, Any]:
    """The pipeline's spec, steps, YAML and last 10 runs."""
    p = _visible(name, principal)
    try:
        runs = [r.as_dict() for r in dagster.runs(pipeline=p.name, limit=10)]
        return _detail(p, runs)
    except DagsterUnavailable as exc:
        return _detail(p, None, str(exc))


@router.patch("/{name}")
def patch_pipeline(name: str, body: PipelinePatch,
                   principal: Principal = Depends(require("pipeline.update")),
                   dagster: Dagster = Depends(get_dagster)) -> dict[str, Any]:
    """Replace the YAML and/or the description (validated like a new file)."""
    p = _visible(name, principal)
    if not store.is_writable(p):
        raise _read_only(p)
    if body.yaml is None and body.description is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="nothing to change: send 'yaml' and/or 'description'")
    from pathlib import Path

    text = body.yaml if body.yaml is not None else Path(p.file).read_text(encoding="utf-8")
    _check_workspace(text, principal, current=store.workspace_of(p))
    if body.description is not None:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None  # the validator below reports where
        if isinstance(data, dict):
            data["description"] = body.description
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    try:
        p = store.replace(p, text)
    except PipelineValidationError as exc:
        raise _invalid(exc) from None
    return _detail(p, None, _reload(dagster))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_pipeline(name: str, principal: Principal = Depends(require("pipeline.delete")),
                    dagster: Dagster = Depends(get_dagster)) -> Response:
    """Remove the pipeline file (its past runs stay in Dagster) and reload the code location."""
    p = _visible(name, principal)
    try:
        store.remove(p)
    except store.ReadOnlyPipeline:
        raise _read_only(p) from None
    _reload(dagster)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{name}/execute", status_code=status.HTTP_202_ACCEPTED)
def execute_pipeline(name: str, request: Request,
                     principal: Principal = Depends(require("pipeline.execute")),
                     dagster: Dagster = Depends(get_dagster)) -> dict[str, Any]:
    """Launch a run of the pipeline's job through Dagster (queued, then run by the daemon).
    Audited as `pipeline.execute`, refused launches too."""
    p = _visible(name, principal)
    job = f"{p.name}_job"
    tags = {"datasetgen/pipeline": p.name, "datasetgen/workspace": store.workspace_of(p),
            "datasetgen/requested_by": principal.sub, "datasetgen/source": "api"}
    try:
        run_id = dagster.launch(job, tags)
    except (DagsterUnavailable, RunNotFound) as exc:
        _audit(request, principal, "pipeline.execute", f"pipeline/{p.name}",
               {"job": job, "error": type(exc).__name__}, outcome="error")
        raise _unavailable(exc) from None
    _audit(request, principal, "pipeline.execute", f"pipeline/{p.name}",
           {"job": job, "run_id": run_id})
    return {"run_id": run_id, "pipeline": p.name, "job": job, "status": "QUEUED",
            "status_url": f"{router.prefix}/{p.name}/runs/{run_id}"}


def _run_of(p: Pipeline, run_id: str, dagster: Dagster) -> RunInfo:
    try:
        run = dagster.run(run_id)
    except RunNotFound:
        run = None
    except DagsterUnavailable as exc:
        raise _unavailable(exc) from None
    if run is None or run.pipeline != p.name:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"no run '{run_id}' of pipeline '{p.name}'")
    return run


@router.get("/{name}/status")
def pipeline_status(name: str, principal: Principal = Depends(require("pipeline.read")),
                    dagster: Dagster = Depends(get_dagster)) -> dict[str, Any]:
    """Status and per-step progress of the pipeline's latest run."""
    p = _visible(name, principal)
    try:
        runs = dagster.runs(pipeline=p.name, limit=1)
    except DagsterUnavailable as exc:
        raise _unavailable(exc) from None
    if not runs:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"pipeline '{p.name}' has no runs yet: POST .../execute")
    return runs[0].as_dict()


@router.get("/{name}/runs/{run_id}")
def run_status(name: str, run_id: str,
               principal: Principal = Depends(require("pipeline.read")),
               dagster: Dagster = Depends(get_dagster)) -> dict[str, Any]:
    """A run's status and per-step progress (done/total)."""
    return _run_of(_visible(name, principal), run_id, dagster).as_dict()


@router.post("/{name}/runs/{run_id}/stop")
def stop_run(name: str, run_id: str, request: Request,
             principal: Principal = Depends(require("pipeline.execute")),
             dagster: Dagster = Depends(get_dagster)) -> dict[str, Any]:
    """Terminate a queued or running run (409 when it already finished)."""
    p = _visible(name, principal)
    run = _run_of(p, run_id, dagster)
    if run.status in ("SUCCESS", "FAILURE", "CANCELED"):
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"run '{run_id}' already finished ({run.status})")
    try:
        new_status = dagster.terminate(run_id)
    except TerminateRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    except (DagsterUnavailable, RunNotFound) as exc:
        raise _unavailable(exc) from None
    _audit(request, principal, "pipeline.stop", f"run/{run_id}", {"pipeline": p.name})
    return {"run_id": run_id, "status": new_status}


@router.get("/{name}/runs/{run_id}/logs")
def run_logs(name: str, run_id: str, principal: Principal = Depends(require("pipeline.read")),
             dagster: Dagster = Depends(get_dagster),
             cursor: str | None = Query(None, max_length=200,
                                        description="`next_cursor` of the previous page"),
             limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    """The run's event log messages, oldest first, a page at a time (messages only, with
    PII-looking values masked; no metadata values)."""
    p = _visible(name, principal)
    _run_of(p, run_id, dagster)
    try:
        events, next_cursor, more = dagster.logs(run_id, cursor, limit)
    except DagsterUnavailable as exc:
        raise _unavailable(exc) from None
    except RunNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no run '{run_id}'") from None
    return {"items": events, "next_cursor": next_cursor, "has_more": more}
