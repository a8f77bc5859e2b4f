"""`sql` source and `sql_table` sink against the real PostgreSQL and MariaDB on this machine."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import StepContext, get_step_type
from datasetgen_resources.databases import (
    engine_for,
    normalize_url,
    safe_url,
    translate_db_error,
)
from tests.fixtures.services import MARIADB_URL, POSTGRES_URL, free_port, require_service

SQL = get_step_type("sql")
SINK = get_step_type("sql_table")
ENV = "DG_TEST_DB_URL"
CTX = StepContext(pipeline="test", step_id="db")


@dataclass
class Db:
    name: str
    engine: sa.Engine
    table: str  # unique per test, dropped afterwards


@pytest.fixture(
    params=[("postgresql", POSTGRES_URL), ("mariadb", MARIADB_URL)], ids=["pg", "maria"]
)
def db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Db]:
    name, url = request.param
    parsed = sa.make_url(url)
    require_service(name, parsed.host or "127.0.0.1", parsed.port or 0)
    monkeypatch.setenv(ENV, url)
    engine = engine_for(ENV)
    table = f"dg_test_{uuid.uuid4().hex[:10]}"
    yield Db(name, engine, table)
    with engine.begin() as conn:
        for t in (table, f"{table} Odd"):
            sa.Table(t, sa.MetaData()).drop(conn, checkfirst=True)


def make_people(db: Db, name: str | None = None) -> sa.Table:
    """A table with NOT NULL constraints and three rows."""
    table = sa.Table(
        name or db.table,
        sa.MetaData(),
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("amount", sa.Float),
        mysql_engine="InnoDB",
    )
    with db.engine.begin() as conn:
        table.create(conn)
        conn.execute(
            table.insert(),
            [
                {"id": 1, "name": "ada", "amount": 10.5},
                {"id": 2, "name": "bob", "amount": None},
                {"id": 3, "name": "cy", "amount": 30.0},
            ],
        )
    return table


def read(**config: object) -> pd.DataFrame:
    return SQL.run([], SQL.config_model.model_validate({"url_env": ENV, **config}), CTX).frame


def write(frame: pd.DataFrame, **config: object) -> dict:
    cfg = SINK.config_model.model_validate({"url_env": ENV, **config})
    result = SINK.run([frame], cfg, CTX)
    assert result.frame is frame
    return result.report


def table_rows(db: Db) -> list[tuple]:
    query = sa.select(sa.column("id"), sa.column("name")).select_from(sa.table(db.table))
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query.order_by(sa.column("id")))]


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.service
def test_read_whole_table(db: Db) -> None:
    make_people(db)
    result = SQL.run([], SQL.config_model.model_validate({"url_env": ENV, "table": db.table}), CTX)
    frame = result.frame.sort_values("id", ignore_index=True)
    assert list(frame.columns) == ["id", "name", "amount"]
    assert frame["name"].tolist() == ["ada", "bob", "cy"]
    assert pd.isna(frame.loc[1, "amount"])
    assert result.report["rows"] == 3
    assert result.report["columns"] == ["id", "name", "amount"]
    assert result.report["url"] == safe_url(db.engine.url)


@pytest.mark.service
def test_table_projection_reads_only_the_listed_columns_in_order(db: Db) -> None:
    make_people(db)
    frame = read(table=db.table, columns=["name", "id"])
    assert list(frame.columns) == ["name", "id"]
    assert sorted(frame["id"].tolist()) == [1, 2, 3]


@pytest.mark.service
def test_identifiers_are_quoted(db: Db) -> None:
    odd = sa.Table(
        f"{db.table} Odd",
        sa.MetaData(),
        sa.Column("select", sa.Integer),
        sa.Column("Mixed Case", sa.String(5)),
    )
    with db.engine.begin() as conn:
        odd.create(conn)
        conn.execute(odd.insert(), [{"select": 7, "Mixed Case": "x"}])
    frame = read(table=f"{db.table} Odd", columns=["Mixed Case", "select"])
    assert frame.to_dict("records") == [{"Mixed Case": "x", "select": 7}]


@pytest.mark.service
def test_query_with_bound_scalar_and_list_params(db: Db) -> None:
    make_people(db)
    frame = read(
        query=f"SELECT id, name FROM {db.table} WHERE name <> :skip AND id IN :ids ORDER BY id;",
        params={"skip": "cy", "ids": [1, 3, 2]},
    )
    assert frame.to_dict("records") == [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}]


@pytest.mark.service
def test_params_are_bound_not_formatted(db: Db) -> None:
    make_people(db)
    hostile = f"x'; DROP TABLE {db.table}; --"
    frame = read(query=f"SELECT id FROM {db.table} WHERE name = :n", params={"n": hostile})
    assert frame.empty
    assert len(table_rows(db)) == 3


@pytest.mark.service
def test_query_projection_wraps_the_query(db: Db) -> None:
    make_people(db)
    frame = read(
        query=f"SELECT id, name, amount * 2 AS doubled FROM {db.table} WHERE id >= :lo",
        params={"lo": 2},
        columns=["doubled"],
    )
    assert list(frame.columns) == ["doubled"]
    assert sorted(frame["doubled"].dropna().tolist()) == [60.0]


@pytest.mark.service
def test_chunked_read_returns_every_row(db: Db) -> None:
    write(pd.DataFrame({"id": range(25), "name": [f"n{i}" for i in range(25)]}), table=db.table)
    whole = read(table=db.table)
    chunked = read(table=db.table, chunksize=4)
    pd.testing.assert_frame_equal(
        chunked.sort_values("id", ignore_index=True), whole.sort_values("id", ignore_index=True)
    )
    assert len(chunked) == 25


@pytest.mark.service
def test_unknown_projected_column_is_named_with_a_suggestion(db: Db) -> None:
    make_people(db)
    with pytest.raises(StepInputError) as err:
        read(table=db.table, columns=["id", "nmae"])
    assert "no column 'nmae'" in str(err.value)
    assert "Did you mean 'name'?" in str(err.value)


@pytest.mark.service
def test_missing_table_is_a_clear_error(db: Db) -> None:
    with pytest.raises(StepInputError) as err:
        read(table=db.table)
    message = str(err.value)
    assert db.table in message
    assert "rejected the statement" in message
    assert "Fix:" in message


# --- writing ---------------------------------------------------------------------------------


@pytest.mark.service
def test_write_creates_then_appends_then_replaces(db: Db) -> None:
    first = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    report = write(first, table=db.table, mode="append")
    assert (report["table"], report["mode"], report["rows_written"]) == (db.table, "append", 2)
    assert report["created"] is True
    report = write(pd.DataFrame({"id": [3], "name": ["c"]}), table=db.table, mode="append")
    assert report["created"] is False
    assert table_rows(db) == [(1, "a"), (2, "b"), (3, "c")]
    write(pd.DataFrame({"id": [9], "name": ["z"]}), table=db.table, mode="replace")
    assert table_rows(db) == [(9, "z")]


@pytest.mark.service
def test_replace_keeps_the_existing_table_definition(db: Db) -> None:
    make_people(db)
    write(pd.DataFrame({"id": [5], "name": ["e"], "amount": [1.0]}), table=db.table)
    with db.engine.connect() as conn:
        cols = {c["name"]: c for c in sa.inspect(conn).get_columns(db.table)}
    assert cols["name"]["nullable"] is False  # DELETE + INSERT, not DROP + CREATE


@pytest.mark.service
@pytest.mark.parametrize("mode", ["replace", "append"])
def test_failed_write_rolls_back_and_keeps_previous_rows(db: Db, mode: str) -> None:
    make_people(db)
    before = table_rows(db)
    # chunk 1 (ids 10, 11) is valid and is inserted; chunk 2 violates NOT NULL on `name`.
    frame = pd.DataFrame({"id": [10, 11, 12, 13], "name": ["ok", "ok", None, "ok"]})
    with pytest.raises(StepInputError) as err:
        write(frame, table=db.table, mode=mode, chunksize=2)
    assert table_rows(db) == before
    message = str(err.value)
    assert "rolled back (previous rows kept)" in message
    assert "rejected the data" in message


@pytest.mark.service
def test_failed_first_write_leaves_no_table(db: Db) -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", {"not": "sendable"}]}, dtype=object)
    with pytest.raises(StepInputError) as err:
        write(frame, table=db.table, chunksize=2)
    assert "no table created" in str(err.value)
    with db.engine.connect() as conn:
        assert not sa.inspect(conn).has_table(db.table)


@pytest.mark.service
def test_report_and_logs_hide_the_password(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    parsed = sa.make_url(POSTGRES_URL)
    require_service("postgresql", parsed.host or "127.0.0.1", parsed.port or 5432)
    if parsed.password:
        pytest.skip("the configured PostgreSQL URL has its own password")
    monkeypatch.setenv(ENV, parsed.set(password="s3cret").render_as_string(hide_password=False))
    caplog.set_level(logging.DEBUG)
    try:
        result = SQL.run(
            [], SQL.config_model.model_validate({"url_env": ENV, "query": "SELECT 1 AS one"}), CTX
        )
    except StepInputError as exc:  # the server checks passwords: only the error can be checked
        assert "s3cret" not in str(exc)
        pytest.skip("PostgreSQL does not use trust auth here")
    assert result.frame["one"].tolist() == [1]
    assert "s3cret" not in str(result.report)
    assert ":***@" in result.report["url"]
    assert "s3cret" not in caplog.text


@pytest.mark.service
def test_unknown_database_and_unknown_user_are_told_apart(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = db.engine.url
    monkeypatch.setenv(ENV, url.set(database="dg_no_such_db").render_as_string(False))
    with pytest.raises(StepInputError, match=r"the database does not exist\. Fix: create"):
        read(table="t")
    monkeypatch.setenv(
        ENV, url.set(username="dg_nobody", password="s3cret").render_as_string(False)
    )
    with pytest.raises(StepInputError) as err:
        read(table="t")
    assert "authentication failed. Fix: check the user and password in $" + ENV in str(err.value)
    assert "s3cret" not in str(err.value)


# --- errors without a server ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@127.0.0.1:{port}/x", "postgresql+psycopg2://u:***@127.0.0.1:{port}/x"),
        ("mysql://u:s3cret@127.0.0.1:{port}/x", "mysql+pymysql://u:***@127.0.0.1:{port}/x"),
    ],
    ids=["pg", "maria"],
)
def test_connection_refused_is_clear_and_secret_free(
    monkeypatch: pytest.MonkeyPatch, url: str, shown: str
) -> None:
    port = free_port()
    monkeypatch.setenv(ENV, url.format(port=port))
    with pytest.raises(StepInputError) as err:
        read(table="anything")
    message = str(err.value)
    assert message == (
        f"cannot connect to {shown.format(port=port)}: connection refused."
        f" Fix: start the server or correct ${ENV}"
    )
    assert "s3cret" not in message
    with pytest.raises(StepInputError) as err:
        write(pd.DataFrame({"a": [1]}), table="anything")
    assert "connection refused" in str(err.value)
    assert "s3cret" not in str(err.value)


def test_missing_env_var_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DG_NOT_SET_URL", raising=False)
    with pytest.raises(StepInputError, match="environment variable DG_NOT_SET_URL is not set"):
        read(url_env="DG_NOT_SET_URL", table="t")
    with pytest.raises(StepInputError, match="DG_NOT_SET_URL is not set"):
        write(pd.DataFrame({"a": [1]}), url_env="DG_NOT_SET_URL", table="t")


def test_unparseable_url_and_unknown_driver_do_not_echo_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV, "not a url s3cret")
    with pytest.raises(StepInputError) as err:
        engine_for(ENV)
    assert f"${ENV} does not hold a valid database URL" in str(err.value)
    assert "s3cret" not in str(err.value)
    monkeypatch.setenv(ENV, "oracle+nosuchdriver://u:s3cret@h/db")
    with pytest.raises(StepInputError) as err:
        engine_for(ENV)
    assert "oracle+nosuchdriver" in str(err.value)
    assert "s3cret" not in str(err.value)


def test_engines_are_cached_per_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DG_A_URL", "postgres://u@127.0.0.1:1/a")
    monkeypatch.setenv("DG_B_URL", "postgresql+psycopg2://u@127.0.0.1:1/a")
    first = engine_for("DG_A_URL")
    assert first is engine_for("DG_B_URL")
    assert first.pool._pre_ping is True
    assert first.dialect.driver == "psycopg2"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("postgres://u:p@h/d", "postgresql+psycopg2://u:p@h/d"),
        ("postgresql://u@h:5/d", "postgresql+psycopg2://u@h:5/d"),
        ("mysql://root@h/d", "mysql+pymysql://root@h/d"),
        ("mariadb://root@h/d", "mariadb+pymysql://root@h/d"),
        ("postgresql+psycopg2://h/d", "postgresql+psycopg2://h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_url(raw: str, normalized: str) -> None:
    assert normalize_url(raw) == normalized


def test_safe_url_hides_the_password() -> None:
    assert safe_url("postgres://u:s3cret@h:5432/d") == "postgresql+psycopg2://u:***@h:5432/d"
    assert "s3cret" not in safe_url("::: s3cret")


def test_translate_masks_a_password_a_driver_echoes() -> None:
    url = "postgresql+psycopg2://u:s3cret@h/d"
    driver = Exception("bad option near 's3cret'\nDETAIL: row")
    exc = sa.exc.OperationalError("SELECT 1", {}, driver)
    err = translate_db_error(exc, url, "DB")
    assert "s3cret" not in str(err)
    assert "DETAIL" not in str(err)  # later driver lines may quote row values
    assert "bad option near '***'" in str(err)


# --- config and planning -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"table": "t", "query": "SELECT 1"}, "exactly one of `table` or `query`"),
        ({}, "exactly one of `table` or `query`"),
        ({"query": "SELECT * FROM t WHERE a = :a"}, "the query uses :a"),
        ({"query": "SELECT 1", "params": {"b": 1}}, "`params` has b, not used"),
        ({"table": "t", "params": {"b": 1}}, "`table` has none"),
        ({"table": "public.t"}, "write the schema separately"),
        ({"query": "SELECT 1", "schema": "public"}, "`schema` applies to `table`"),
        ({"table": "t", "columns": ["a", "a"]}, "lists a column twice"),
        ({"table": "t", "where": ["a >> 1"]}, "unexpected"),
        ({"table": "t", "wher": ["a > 1"]}, "Extra inputs are not permitted"),
    ],
)
def test_config_errors(config: dict, expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        SQL.config_model.model_validate(config)


def test_a_url_pasted_into_url_env_is_refused_without_echoing_it() -> None:
    for model in (SQL.config_model, SINK.config_model):
        with pytest.raises(ValidationError) as err:
            model.model_validate({"url_env": "postgresql://u:s3cret@h/d", "table": "t"})
        assert "NAME of an environment variable" in str(err.value)
        assert "s3cret" not in str(err.value)


def test_sink_mode_is_append_or_replace() -> None:
    with pytest.raises(ValidationError, match="'append' or 'replace'"):
        SINK.config_model.model_validate({"table": "t", "mode": "upsert"})
    assert SINK.config_model.model_validate({"table": "t", "schema": "s"}).schema_ == "s"


def test_registration_and_planning_never_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DG_NOT_SET_URL", raising=False)
    assert (SQL.kind, SQL.min_inputs, SQL.max_inputs, SQL.projectable) == ("source", 0, 0, True)
    assert SQL.kinds == ("sql", "pandas")
    cfg = SQL.config_model.model_validate({"url_env": "DG_NOT_SET_URL", "table": "t"})
    assert SQL.infer_columns(cfg, [], CTX) is None
    cfg = cfg.model_copy(update={"columns": ["b", "a"]})
    assert SQL.infer_columns(cfg, [], CTX) == ["b", "a"]
    assert (SINK.kind, SINK.min_inputs, SINK.max_inputs) == ("sink", 1, 1)
    sink_cfg = SINK.config_model.model_validate({"url_env": "DG_NOT_SET_URL", "table": "t"})
    assert SINK.infer_columns(sink_cfg, [["x", "y"]], CTX) == ["x", "y"]
    assert SINK.needed_inputs(sink_cfg, {"x"}, [["x", "y"]]) == [None]
    schema = SQL.config_model.model_json_schema()
    assert "schema" in schema["properties"]
    assert all("description" in p for p in schema["properties"].values())
