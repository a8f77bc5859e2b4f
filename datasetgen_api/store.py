"""The API's own records: datasets and the append-only audit log (SQLAlchemy Core).

$DATASETGEN_API_DB_URL (any SQLAlchemy URL; `postgresql://` is mapped to psycopg2), default
SQLite at $DAGSTER_HOME/api.db. Tables are created on first use. The audit log is append-only
in the database itself: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

datasets = sa.Table(
    "api_datasets", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("workspace", sa.String(200), nullable=False, index=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("status", sa.String(32), nullable=False, default="empty"),
    sa.Column("pipeline", sa.String(200), nullable=True),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("asset_keys", sa.JSON, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)

audit_log = sa.Table(
    "api_audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("user", sa.String(200), nullable=True, index=True),
    sa.Column("action", sa.String(200), nullable=False, index=True),
    sa.Column("resource", sa.String(500), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.String(300), nullable=True),
)

APPEND_ONLY_MESSAGE = "api_audit_log is append-only"

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS api_audit_no_{op.lower()} BEFORE {op} ON api_audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
    for op in ("UPDATE", "DELETE")
]
_PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION api_audit_append_only() RETURNS trigger AS $$ BEGIN "
    f"RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS api_audit_no_change ON api_audit_log",
    "CREATE TRIGGER api_audit_no_change BEFORE UPDATE OR DELETE ON api_audit_log "
    "FOR EACH ROW EXECUTE FUNCTION api_audit_append_only()",
    "DROP TRIGGER IF EXISTS api_audit_no_truncate ON api_audit_log",
    "CREATE TRIGGER api_audit_no_truncate BEFORE TRUNCATE ON api_audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION api_audit_append_only()",
]


def default_url() -> str:
    """$DATASETGEN_API_DB_URL, else SQLite at $DAGSTER_HOME/api.db."""
    url = os.environ.get("DATASETGEN_API_DB_URL")
    if url:
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg2://" + url[len(prefix):]
        return url
    from datasetgen_assets.instance import ensure_dagster_home

    return f"sqlite:///{Path(ensure_dagster_home()) / 'api.db'}"


class Store:
    """Datasets and audit records in one database."""

    def __init__(self, url: str):
        self.url = url
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine = sa.create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        with self.engine.begin() as c:
            for stmt in _PG_TRIGGERS if self.engine.dialect.name == "postgresql" \
                    else _SQLITE_TRIGGERS:
                c.exec_driver_sql(stmt)

    # ------------------------------------------------------------------ datasets
    def create_dataset(self, *, name: str, workspace: str, owner: str, description: str = "",
                       pipeline: str | None = None, asset_keys: list[str] | None = None
                       ) -> dict[str, Any]:
        now = time.time()
        row = {"id": uuid.uuid4().hex, "name": name, "workspace": workspace, "owner": owner,
               "description": description, "status": "empty", "pipeline": pipeline,
               "files": [], "asset_keys": asset_keys or [], "created": now, "updated": now}
        with self.engine.begin() as c:
            c.execute(datasets.insert().values(**row))
        return row

    def get_dataset(self, dataset_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = c.execute(datasets.select().where(datasets.c.id == dataset_id)).mappings()
            found = row.first()
        return dict(found) if found else None

    def list_datasets(self, workspace: str | None, *, limit: int, offset: int
                      ) -> tuple[list[dict[str, Any]], int]:
        """One page (newest first) and the total; `workspace` None lists all."""
        where = [] if workspace is None else [datasets.c.workspace == workspace]
        with self.engine.connect() as c:
            total = c.execute(sa.select(sa.func.count()).select_from(datasets).where(*where)
                              ).scalar_one()
            rows = c.execute(datasets.select().where(*where)
                             .order_by(datasets.c.created.desc(), datasets.c.id)
                             .limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows], int(total)

    def update_dataset(self, dataset_id: str, **values: Any) -> dict[str, Any] | None:
        values["updated"] = time.time()
        with self.engine.begin() as c:
            c.execute(datasets.update().where(datasets.c.id == dataset_id).values(**values))
        return self.get_dataset(dataset_id)

    def delete_dataset(self, dataset_id: str) -> bool:
        with self.engine.begin() as c:
            return c.execute(datasets.delete().where(datasets.c.id == dataset_id)).rowcount > 0

    # ------------------------------------------------------------------ audit
    def append_audit(self, entry: dict[str, Any]) -> int:
        with self.engine.begin() as c:
            return int(c.execute(audit_log.insert().values(**entry)).inserted_primary_key[0])

    def query_audit(self, *, user: str | None = None, action: str | None = None,
                    resource: str | None = None, since: float | None = None,
                    until: float | None = None, limit: int = 100, offset: int = 0
                    ) -> tuple[list[dict[str, Any]], int]:
        """Audit records matching every given filter (`action`/`resource`: prefix), newest
        first, and their total."""
        where = []
        if user is not None:
            where.append(audit_log.c.user == user)
        if action is not None:
            where.append(audit_log.c.action.startswith(action, autoescape=True))
        if resource is not None:
            where.append(audit_log.c.resource.startswith(resource, autoescape=True))
        if since is not None:
            where.append(audit_log.c.ts >= since)
        if until is not None:
            where.append(audit_log.c.ts <= until)
        with self.engine.connect() as c:
            total = c.execute(sa.select(sa.func.count()).select_from(audit_log).where(*where)
                              ).scalar_one()
            rows = c.execute(audit_log.select().where(*where)
                             .order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
                             ).mappings().all()
        return [dict(r) for r in rows], int(total)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


_stores: dict[str, Store] = {}
_lock = threading.Lock()


def get_store(url: str | None = None) -> Store:
    """The store of `url` (default: `default_url()`), opened once per process."""
    url = url or default_url()
    with _lock:
        if url not in _stores:
            _stores[url] = Store(url)
        return _stores[url]
