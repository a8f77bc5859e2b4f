"""`sql` source: read a table or a parameterised query from PostgreSQL, MariaDB/MySQL, ..."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated, Any

import pandas as pd
import sqlalchemy as sa
from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from datasetgen_assets.errors import StepInputError, did_you_mean
from datasetgen_assets.pipeline.condition import parse_condition, to_sqlalchemy
from datasetgen_assets.steps.registry import (
    Columns,
    EnvVarName,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    register,
)
from datasetgen_resources.databases import (
    db_error_cause,
    engine_for,
    safe_url,
    translate_db_error,
)

Scalar = bool | int | float | str | datetime | date | None
SQL_CONFIG = ConfigDict(
    extra="forbid", hide_input_in_errors=True, validate_by_name=True, serialize_by_alias=True
)


def _table_name(value: str) -> str:
    if "." in value:
        raise ValueError("write the schema separately: `schema: public, table: users`")
    return value


TableName = Annotated[str, Field(min_length=1), AfterValidator(_table_name)]


class SqlConfig(StepConfig):
    """Read one table, or the rows of one query with bound parameters."""

    model_config = SQL_CONFIG

    url_env: EnvVarName = Field(
        "DATABASE_URL", description="Environment variable holding the SQLAlchemy database URL."
    )
    table: TableName | None = Field(None, description="Table to read (instead of `query`).")
    schema_: str | None = Field(
        None, alias="schema", description="Schema (PostgreSQL) or database (MySQL) of `table`."
    )
    query: str | None = Field(
        None, description="SELECT statement to run (instead of `table`); `:name` parameters."
    )
    params: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        description="Values bound to the query's `:name` parameters (a list fills `IN :name`).",
    )
    columns: list[str] | None = Field(
        None, min_length=1, description="Read only these columns (all when omitted)."
    )
    chunksize: int | None = Field(
        None, gt=0, description="Stream the result in chunks of this many rows (big reads)."
    )
    where: list[str] = Field(
        default_factory=list,
        description="Rows to keep, in the filter-condition language, compiled to a SQL WHERE"
        " with bound values; the optimizer pushes filter steps here.",
    )

    @field_validator("where")
    @classmethod
    def _conditions_parse(cls, v: list[str]) -> list[str]:
        for text in v:
            parse_condition(text)
        return v

    @model_validator(mode="after")
    def _one_source(self) -> SqlConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query`")
        if self.query is not None:
            self.query = self.query.strip().rstrip(";").strip()
            if self.schema_ is not None:
                raise ValueError("`schema` applies to `table`; qualify names inside `query`")
            _check_bind_names(self.query, self.params)
        elif self.params:
            raise ValueError("`params` bind the `:name` parameters of a `query`; `table` has none")
        if self.columns and len(set(self.columns)) != len(self.columns):
            raise ValueError("`columns` lists a column twice")
        return self


def _check_bind_names(query: str, params: dict[str, Any]) -> None:
    used = set(sa.text(query).compile().params)
    if missing := sorted(used - params.keys()):
        raise ValueError(f"the query uses :{', :'.join(missing)} but `params` has no value for it")
    if unused := sorted(params.keys() - used):
        hint = did_you_mean(unused[0], used)
        raise ValueError(f"`params` has {', '.join(unused)}, not used by the query.{hint}")


def build_statement(config: SqlConfig) -> sa.Executable:
    """The SELECT for the config: quoted identifiers, bound parameters, optional projection
    and WHERE conditions."""
    conditions = [parse_condition(c) for c in config.where]
    named = list(dict.fromkeys([*(config.columns or []),
                                *(c for cond in conditions for c in sorted(cond.columns))]))
    if config.table is not None:
        source: Any = sa.table(config.table, *[sa.column(c) for c in named],
                               schema=config.schema_)
    else:
        binds = [
            sa.bindparam(k, v, expanding=isinstance(v, list)) for k, v in config.params.items()
        ]
        stmt = sa.text(config.query or "").bindparams(*binds)
        if not named:
            return stmt
        source = stmt.columns(*[sa.column(c) for c in named]).subquery("q")
    cols = [source.c[c] for c in config.columns] if config.columns else [sa.text("*")]
    select = sa.select(*cols).select_from(source)
    for cond in conditions:
        select = select.where(to_sqlalchemy(cond, source.c))
    return select


def push_filter(config: SqlConfig, condition: str) -> SqlConfig:
    """The config with one more WHERE condition (the optimizer's filter pushdown)."""
    return config.model_copy(update={"where": [*config.where, condition]})


def run(inputs: list[pd.DataFrame], config: SqlConfig, ctx: StepContext) -> StepResult:
    """Run the SELECT and return its rows."""
    engine = engine_for(config.url_env)
    started = time.perf_counter()
    stmt = build_statement(config)
    ctx.log.info("sql: reading %s from %s", config.table or "query", safe_url(engine.url))
    try:
        with engine.connect() as conn:
            frame = _read(conn, stmt, config.chunksize)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise _explain(exc, config, engine) from None
    return StepResult(
        frame,
        {
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
            "url": safe_url(engine.url),
            "source": config.table if config.table else "query",
            "elapsed_s": round(time.perf_counter() - started, 3),
        },
    )


def _read(conn: sa.Connection, stmt: sa.Executable, chunksize: int | None) -> pd.DataFrame:
    if chunksize is None:
        return pd.read_sql_query(stmt, conn)
    streaming = conn.execution_options(stream_results=True, max_row_buffer=chunksize)
    chunks = list(pd.read_sql_query(stmt, streaming, chunksize=chunksize))
    return pd.concat(chunks, ignore_index=True)


def _explain(exc: Exception, config: SqlConfig, engine: sa.Engine) -> StepInputError:
    """Name unknown projected columns precisely; otherwise the generic translation."""
    if config.table and config.columns and isinstance(db_error_cause(exc), sa.exc.DBAPIError):
        try:
            described = sa.inspect(engine).get_columns(config.table, config.schema_)
            known = [str(c["name"]) for c in described]
        except sa.exc.SQLAlchemyError:
            known = []
        if known and (missing := [c for c in config.columns if c not in known]):
            return StepInputError(
                f"table {config.table} has no column '{missing[0]}'."
                f"{did_you_mean(missing[0], known)} Known columns: {', '.join(known)}.",
                fix="correct `columns`",
            )
    return translate_db_error(exc, engine.url, config.url_env)


def infer_columns(config: SqlConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    """The projected columns when given; unknown otherwise (never connects while planning)."""
    return list(config.columns) if config.columns else None


register(
    StepType(
        name="sql",
        kind="source",
        config_model=SqlConfig,
        run=run,
        description="Read a table or a parameterised SELECT from a SQL database.",
        min_inputs=0,
        max_inputs=0,
        kinds=("sql", "pandas"),
        infer_columns=infer_columns,
        projectable=True,
        push_filter=push_filter,
    )
)
