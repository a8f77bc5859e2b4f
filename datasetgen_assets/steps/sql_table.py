"""`sql_table` sink: write the input frame to a database table in one transaction."""

from __future__ import annotations

import time
from typing import Literal

import pandas as pd
import sqlalchemy as sa
from pydantic import Field

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import (
    Columns,
    EnvVarName,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    passthrough_columns,
    register,
)
from datasetgen_assets.steps.sql import SQL_CONFIG, TableName
from datasetgen_resources.databases import engine_for, safe_url, translate_db_error


class SqlTableConfig(StepConfig):
    """Where and how to write; the whole write is one transaction."""

    model_config = SQL_CONFIG

    url_env: EnvVarName = Field(
        "DATABASE_URL", description="Environment variable holding the SQLAlchemy database URL."
    )
    table: TableName = Field(description="Table to write; created from the frame when missing.")
    schema_: str | None = Field(
        None, alias="schema", description="Schema (PostgreSQL) or database (MySQL) of `table`."
    )
    mode: Literal["append", "replace"] = Field(
        "replace",
        description="replace: delete the table's rows, then insert (columns and constraints"
        " kept); append: insert after the existing rows.",
    )
    chunksize: int = Field(10_000, gt=0, description="Rows per INSERT batch.")


def run(inputs: list[pd.DataFrame], config: SqlTableConfig, ctx: StepContext) -> StepResult:
    """Write the frame; on any failure roll back so the table keeps its previous rows."""
    frame = inputs[0]
    name = f"{config.schema_}.{config.table}" if config.schema_ else config.table
    if frame.shape[1] == 0:
        raise StepInputError(f"nothing to write to table {name}: the input has no columns.")
    engine = engine_for(config.url_env)
    started = time.perf_counter()
    existed: bool | None = None  # None: failed before the table was looked up
    try:
        with engine.begin() as conn:
            existed = sa.inspect(conn).has_table(config.table, schema=config.schema_)
            if existed and config.mode == "replace":
                conn.execute(sa.delete(sa.table(config.table, schema=config.schema_)))
            frame.to_sql(
                config.table,
                conn,
                schema=config.schema_,
                if_exists="append",
                index=False,
                chunksize=config.chunksize,
            )
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError, TypeError, ValueError) as exc:
        # TypeError/ValueError: a value the driver cannot send (e.g. a dict in PyMySQL)
        err = translate_db_error(exc, engine.url, config.url_env)
        if existed is None:
            raise err from None
        if not existed:
            _drop_created(engine, config)
        raise StepInputError(
            f"writing {len(frame)} rows to table {name} failed and was rolled back"
            f" ({'previous rows kept' if existed else 'no table created'}): {err.message}",
            fix=err.fix,
        ) from None
    ctx.log.info("sql_table: wrote %d rows to %s (%s)", len(frame), name, config.mode)
    return StepResult(
        frame,
        {
            "table": name,
            "mode": config.mode,
            "rows_written": len(frame),
            "created": not existed,
            "url": safe_url(engine.url),
            "elapsed_s": round(time.perf_counter() - started, 3),
        },
    )


def _drop_created(engine: sa.Engine, config: SqlTableConfig) -> None:
    """Undo a CREATE TABLE that MySQL/MariaDB committed implicitly before the failed insert."""
    try:
        with engine.begin() as conn:
            if sa.inspect(conn).has_table(config.table, schema=config.schema_):
                sa.Table(config.table, sa.MetaData(), schema=config.schema_).drop(conn)
    except sa.exc.SQLAlchemyError:
        return


def needed_inputs(
    config: SqlTableConfig, needed: set[str] | None, inputs: list[Columns]
) -> list[set[str] | None]:
    """Every input column is written."""
    return [None]


register(
    StepType(
        name="sql_table",
        kind="sink",
        config_model=SqlTableConfig,
        run=run,
        description="Write the input to a SQL table (append or replace) in one transaction.",
        min_inputs=1,
        max_inputs=1,
        kinds=("sql", "pandas"),
        infer_columns=passthrough_columns,
        needed_inputs=needed_inputs,
    )
)
