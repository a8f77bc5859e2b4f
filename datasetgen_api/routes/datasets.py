"""/api/v1/datasets: workspace-owned dataset records, streamed uploads into the landing zone,
preview (PII masked), schema (the profiler's) and quality score.

Object-level rule: a dataset of another workspace is 404 for non-admins (its existence is not
revealed). DELETE always erases the dataset (right to be forgotten, see datasetgen_api.forget).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from datasetgen_api import audit, uploads
from datasetgen_api.responses import errors as error_responses
from datasetgen_api.security import Principal, require
from datasetgen_api.store import Store, get_store

log = logging.getLogger("datasetgen.api")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, in a dataset's words."""
    return error_responses(*codes, e404="No such dataset in the caller's workspace",
                           e409="The dataset has no (readable) file yet")


router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"],
                   responses=errors(401, 403, 422))
NAME = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$"
PREVIEW_MAX = 100
PROFILE_MAX_ROWS = 100_000


class DatasetFile(BaseModel):
    key: str = Field(description="Landing-zone key (server-generated).")
    filename: str = Field(description="The client's file name, sanitized (metadata only).")
    type: str = Field(description="Type sniffed from the content: csv, json, jsonl, xlsx, "
                                  "parquet.")
    size: int
    uploaded: dt.datetime


class Dataset(BaseModel):
    id: str
    name: str
    workspace: str
    owner: str
    description: str
    status: str = Field(description="empty (no file yet) or ready.")
    pipeline: str | None = Field(description="The pipeline it feeds (upload-triggered "
                                             "pipelines receive its uploads).")
    asset_keys: list[str] = Field(description="Dagster asset keys it feeds or comes from.")
    files: list[DatasetFile]
    created: dt.datetime
    updated: dt.datetime


class DatasetPage(BaseModel):
    items: list[Dataset]
    total: int
    limit: int
    offset: int


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=NAME, description="Letters, digits, space . _ - (max 100).")
    description: str = Field("", max_length=2000)
    pipeline: str | None = Field(None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,99}$",
                                 description="Name of a pipeline in pipelines/ this dataset "
                                             "feeds.")
    asset_keys: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]{1,300}$")]] | None = Field(
        None, max_length=100, description="Asset keys (a/b) it comes from; default: the "
                                          "pipeline's assets.")
    workspace: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,100}$",
                                  description="Admins only: create in another workspace.")


class DatasetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, pattern=NAME)
    description: str | None = Field(None, max_length=2000)


class Preview(BaseModel):
    columns: list[str]
    rows: list[dict[str, Any]]
    masked_columns: list[str] = Field(description="PII-flagged columns, values masked.")


class SchemaColumn(BaseModel):
    name: str
    type: str
    description: str
    nullable: bool
    unique: bool
    pii: str | None


class DatasetSchema(BaseModel):
    row_count: int
    columns: list[SchemaColumn]
    primary_keys: list[list[str]]


class Validation(BaseModel):
    score: float = Field(description="Quality score 0-100.")
    rows: int
    issues_by_family: dict[str, dict[str, int]]
    pii_columns: list[str]


class Forgotten(BaseModel):
    id: str
    files: int
    materializations: int
    output_files: int
    runs: int = Field(description="Dagster runs of its partitions deleted with their logs.")
    partitions: int
    llm_cache_entries: int


def store_dep() -> Store:
    return get_store()


def _out(row: dict[str, Any]) -> Dataset:
    when = dt.datetime.fromtimestamp
    return Dataset(**{**row, "created": when(row["created"], dt.UTC),
                      "updated": when(row["updated"], dt.UTC),
                      "files": [DatasetFile(**{k: v for k, v in f.items() if k != "url"},
                                            ) for f in row["files"]]})


def visible(store: Store, dataset_id: str, principal: Principal) -> dict[str, Any]:
    """The dataset, or 404 when it does not exist or belongs to a workspace the caller does
    not see (the same answer, so other workspaces' ids are not revealed)."""
    row = store.get_dataset(dataset_id)
    if row is None or not principal.sees_workspace(row["workspace"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no dataset '{dataset_id}'")
    return row


def find_pipeline(name: str) -> Any:
    """The pipeline called `name` in the project's pipeline folders (422 when none)."""
    p = uploads.pipeline_named(name)
    if p is not None:
        return p
    raise HTTPException(422, detail=f"field 'pipeline': no pipeline named '{name}' in "
                                    "pipelines/: create it first or leave 'pipeline' out")


@router.get("", response_model=DatasetPage, summary="List datasets")
def list_datasets(principal: Principal = Depends(require("dataset.read")),
                  store: Store = Depends(store_dep),
                  limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
                  workspace: str | None = Query(None, max_length=100,
                                                description="Admins: only this workspace.")
                  ) -> DatasetPage:
    """The caller's workspace's datasets (admins: all, or `workspace`), newest first."""
    ws = (workspace if principal.is_admin else principal.workspace)
    rows, total = store.list_datasets(ws, limit=limit, offset=offset)
    return DatasetPage(items=[_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.post("", response_model=Dataset, status_code=201, summary="Create a dataset")
def create_dataset(body: DatasetCreate, request: Request,
                   principal: Principal = Depends(require("dataset.create")),
                   store: Store = Depends(store_dep)) -> Dataset:
    workspace = body.workspace or principal.workspace
    if workspace != principal.workspace and not principal.is_admin:
        raise HTTPException(403, detail="field 'workspace': only admins create datasets in "
                                        "another workspace; leave it out")
    keys = body.asset_keys
    if body.pipeline:
        p = find_pipeline(body.pipeline)
        if keys is None:
            keys = [f"{p.name}/{s}" for s in p.order]
    row = store.create_dataset(name=body.name, workspace=workspace, owner=principal.sub,
                               description=body.description, pipeline=body.pipeline,
                               asset_keys=keys or [])
    audit.add_details(request, dataset_id=row["id"], asset_key_count=len(row["asset_keys"]))
    return _out(row)


@router.get("/{dataset_id}", response_model=Dataset, summary="Get a dataset",
            responses=errors(404))
def get_dataset(dataset_id: str, principal: Principal = Depends(require("dataset.read")),
                store: Store = Depends(store_dep)) -> Dataset:
    return _out(visible(store, dataset_id, principal))


@router.patch("/{dataset_id}", response_model=Dataset, summary="Rename or describe",
              responses=errors(404))
def patch_dataset(dataset_id: str, body: DatasetPatch, request: Request,
                  principal: Principal = Depends(require("dataset.update")),
                  store: Store = Depends(store_dep)) -> Dataset:
    visible(store, dataset_id, principal)
    changes = body.model_dump(exclude_none=True)
    audit.add_details(request, dataset_id=dataset_id, fields=sorted(changes))
    row = store.update_dataset(dataset_id, **changes) if changes else store.get_dataset(
        dataset_id)
    if row is None:  # deleted meanwhile
        raise HTTPException(404, detail=f"no dataset '{dataset_id}'")
    return _out(row)


@router.delete("/{dataset_id}", response_model=Forgotten, summary="Delete and forget",
               responses=errors(404))
def delete_dataset(dataset_id: str, request: Request,
                   principal: Principal = Depends(require("dataset.delete")),
                   store: Store = Depends(store_dep)) -> Forgotten:
    """Erase the dataset: its files, its assets' materializations and stored outputs (its own
    partitions for upload pipelines), and LLM cache entries holding its values; audited with
    counts only."""
    from datasetgen_api.forget import erase_dataset

    row = visible(store, dataset_id, principal)
    counts = erase_dataset(store, row)
    audit.add_details(request, dataset_id=dataset_id, **counts)
    audit.record("dataset.forget", f"dataset/{dataset_id}", user=principal.sub,
                 details={"workspace": row["workspace"], **counts}, store=store,
                 ip=request.client.host if request.client else None,
                 user_agent=request.headers.get("user-agent"))
    return Forgotten(id=dataset_id, **counts)


@router.post("/{dataset_id}/upload", response_model=Dataset, status_code=201,
             summary="Upload a file (multipart, streamed)",
             responses=errors(400, 404, 413, 415),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "multipart/form-data": {"schema": {
                     "type": "object", "required": ["file"],
                     "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def upload(dataset_id: str, request: Request,
                 principal: Principal = Depends(require("dataset.update")),
                 store: Store = Depends(store_dep)) -> Dataset:
    """Stream the `file` part to the landing zone: under the bound upload pipeline's prefix
    (so its sensor runs it) or under datasets/<workspace>/<id>/."""
    row = await asyncio.to_thread(visible, store, dataset_id, principal)
    try:
        staged = await uploads.receive(request.headers.get("content-type", ""),
                                       request.stream(), request.headers.get("content-length"))
        try:
            staged.kind = await asyncio.to_thread(uploads.sniff, staged.path)
            key, url = await asyncio.to_thread(uploads.landing_target, row, staged.kind)
            await asyncio.to_thread(uploads.store_staged, staged, url)
        finally:
            staged.path.unlink(missing_ok=True)
    except uploads.UploadError as exc:
        audit.add_details(request, dataset_id=dataset_id, refused=exc.status)
        raise HTTPException(exc.status, detail=exc.detail) from None
    now = dt.datetime.now(dt.UTC)
    entry = {"key": key, "url": url, "filename": staged.client_filename, "type": staged.kind,
             "size": staged.size, "uploaded": now.isoformat()}
    audit.add_details(request, dataset_id=dataset_id, key=key, bytes=staged.size,
                      type=staged.kind)
    fresh = store.get_dataset(dataset_id) or row
    updated = store.update_dataset(dataset_id, files=[*fresh["files"], entry], status="ready")
    return _out(updated or row)


def latest_frame(row: dict[str, Any], nrows: int | None = None) -> pd.DataFrame:
    if not row["files"]:
        raise HTTPException(409, detail=f"dataset '{row['id']}' has no file yet: upload one "
                                        f"with POST /api/v1/datasets/{row['id']}/upload")
    f = row["files"][-1]
    try:
        return uploads.read_frame(f["url"], f["type"], nrows)
    except FileNotFoundError:
        raise HTTPException(409, detail=f"the file of dataset '{row['id']}' is gone from the "
                                        "landing zone: upload it again") from None


@router.get("/{dataset_id}/preview", response_model=Preview, summary="First rows, PII masked",
            responses=errors(404, 409))
def preview(dataset_id: str, rows: int = Query(10, ge=1, le=PREVIEW_MAX),
            principal: Principal = Depends(require("dataset.read")),
            store: Store = Depends(store_dep)) -> Preview:
    from datasetgen_assets.pipeline.metadata import jsonable
    from datasetgen_assets.profiling.core import profile_frame
    from datasetgen_assets.quality.pii_regex import MASK, mask_text, pii_columns

    frame = latest_frame(visible(store, dataset_id, principal))
    head = frame.head(max(rows, 200))
    masked = pii_columns(head) | set(profile_frame(head).pii_columns)
    out = []
    for rec in frame.head(rows).to_dict(orient="records"):
        out.append({str(k): MASK if str(k) in masked else
                    mask_text(v) if isinstance(v, str) else jsonable(v)
                    for k, v in rec.items()})
    return Preview(columns=[str(c) for c in frame.columns], rows=_finite(out),
                   masked_columns=sorted(masked))


def _finite(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NaN/inf are not JSON: None instead."""
    return [{k: None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf")))
             else v for k, v in r.items()} for r in rows]


@router.get("/{dataset_id}/schema", response_model=DatasetSchema, summary="Profiled schema",
            responses=errors(404, 409))
def schema(dataset_id: str, principal: Principal = Depends(require("dataset.read")),
           store: Store = Depends(store_dep)) -> DatasetSchema:
    from datasetgen_assets.profiling.core import profile_frame
    from datasetgen_assets.profiling.report import column_schema

    frame = latest_frame(visible(store, dataset_id, principal)).head(PROFILE_MAX_ROWS)
    prof = profile_frame(frame)
    pii = {c.name: c.pii for c in prof.columns}
    return DatasetSchema(row_count=prof.row_count, primary_keys=prof.primary_keys,
                         columns=[SchemaColumn(**c, pii=pii.get(c["name"]))
                                  for c in column_schema(prof)])


@router.get("/{dataset_id}/validate", response_model=Validation, summary="Quality score",
            responses=errors(404, 409))
def validate(dataset_id: str, principal: Principal = Depends(require("dataset.read")),
             store: Store = Depends(store_dep)) -> Validation:
    from datasetgen_assets.quality.report import by_family
    from datasetgen_assets.steps.quality_validation import QualityConfig, assess
    from datasetgen_assets.steps.registry import StepContext

    frame = latest_frame(visible(store, dataset_id, principal))
    result = assess(frame, QualityConfig(), StepContext(pipeline="api", step_id=dataset_id))
    return Validation(score=result["score"], rows=len(frame),
                      issues_by_family=by_family(result["issues"]),
                      pii_columns=result["pii_columns"])
