"""/api/v1/audit: the audit log, for admins (permission audit.read)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from datasetgen_api.routes.datasets import errors
from datasetgen_api.security import Principal, require
from datasetgen_api.store import get_store

router = APIRouter(prefix="/api/v1/audit", tags=["audit"],
                   responses=errors(401, 403, 422))


class AuditRecord(BaseModel):
    id: int
    timestamp: dt.datetime
    user: str | None
    action: str
    resource: str
    outcome: str
    details: dict[str, Any]
    ip: str | None
    user_agent: str | None


class AuditPage(BaseModel):
    items: list[AuditRecord]
    total: int
    limit: int
    offset: int


@router.get("", response_model=AuditPage, summary="Query the audit log")
def query_audit(principal: Principal = Depends(require("audit.read")),
                user: str | None = Query(None, max_length=200),
                action: str | None = Query(None, max_length=200,
                                           description="Prefix, e.g. dataset. or http.DELETE"),
                resource: str | None = Query(None, max_length=500, description="Prefix."),
                since: dt.datetime | None = Query(None), until: dt.datetime | None = Query(None),
                limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)
                ) -> AuditPage:
    """Records matching every filter, newest first."""
    def ts(d: dt.datetime | None) -> float | None:
        if d is None:
            return None
        return (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).timestamp()

    rows, total = get_store().query_audit(user=user, action=action, resource=resource,
                                          since=ts(since), until=ts(until), limit=limit,
                                          offset=offset)
    items = [AuditRecord(**{k: v for k, v in r.items() if k != "ts"},
                         timestamp=dt.datetime.fromtimestamp(r["ts"], dt.UTC)) for r in rows]
    return AuditPage(items=items, total=total, limit=limit, offset=offset)
