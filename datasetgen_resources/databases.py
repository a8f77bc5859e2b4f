"""SQLAlchemy engines from URLs held in environment variables, and secret-free error messages.

URLs never appear with their password: every message renders them with `safe_url`.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from datasetgen_assets.errors import StepInputError

# Bare schemes SQLAlchemy 2.1 maps to drivers we do not ship (psycopg 3, mysqlclient).
_SCHEMES = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
_CONNECT_TIMEOUT_S = 10

_UNREACHABLE = re.compile(
    r"refused|could not connect|can't connect|timed out|timeout expired|"
    r"could not translate host|name or service not known|no route to host",
    re.IGNORECASE,
)
_AUTH = re.compile(
    r"password authentication failed|access denied|no password supplied|"
    r"authentication failed|role \".*\" does not exist",
    re.IGNORECASE,
)
_NO_DB = re.compile(r"database \".*\" does not exist|unknown database", re.IGNORECASE)


def normalize_url(url: str) -> str:
    """The URL with a bare `postgresql://`, `postgres://` or `mysql://` scheme given our driver."""
    scheme, sep, rest = url.partition("://")
    return f"{_SCHEMES.get(scheme.lower(), scheme)}{sep}{rest}" if sep else url


def safe_url(url: str | URL) -> str:
    """The URL with its password replaced by ***; never the raw text when it does not parse."""
    try:
        return sa.make_url(normalize_url(url) if isinstance(url, str) else url).render_as_string(
            hide_password=True
        )
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"


def engine_for(url_env: str) -> Engine:
    """The (cached) engine for the URL in environment variable `url_env`."""
    raw = os.environ.get(url_env, "").strip()
    if not raw:
        raise StepInputError(
            f"environment variable {url_env} is not set; it must hold the database URL.",
            fix=f"export {url_env}=postgresql://user:password@host:5432/dbname"
            " (or set url_env to the variable that holds the URL)",
        )
    url = normalize_url(raw)
    try:
        drivername = sa.make_url(url).drivername
    except ArgumentError:
        raise StepInputError(
            f"${url_env} does not hold a valid database URL.",
            fix=f"set {url_env} to a URL like postgresql://user:password@host:5432/dbname",
        ) from None
    try:
        return _engine(url)
    except (NoSuchModuleError, ImportError):
        raise StepInputError(
            f"${url_env} names database driver '{drivername}', which is not installed.",
            fix="use postgresql://, mysql:// or mariadb:// (psycopg2 and PyMySQL are installed)",
        ) from None


@lru_cache(maxsize=32)
def _engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    return sa.create_engine(
        parsed, pool_pre_ping=True, connect_args=_connect_args(parsed.get_backend_name())
    )


def _connect_args(backend: str) -> dict[str, int]:
    return {"connect_timeout": _CONNECT_TIMEOUT_S} if backend in {"postgresql", "mysql"} else {}


def translate_db_error(
    exc: BaseException, url: str | URL, url_env: str | None = None
) -> StepInputError:
    """A StepInputError for a database failure: what went wrong, where, and what to do.

    Only the driver's first line is kept (later lines may quote row values) and any
    password found in the URL is masked even if a driver echoes it.
    """
    exc = db_error_cause(exc)
    where = safe_url(url)
    var = f"${url_env}" if url_env else "the database URL"
    detail = _scrub(_driver_message(exc), url)
    if isinstance(exc, sa.exc.OperationalError) or not isinstance(exc, SQLAlchemyError):
        if _AUTH.search(detail):
            return StepInputError(
                f"cannot log in to {where}: authentication failed.",
                fix=f"check the user and password in {var}",
            )
        if _NO_DB.search(detail):
            return StepInputError(
                f"cannot connect to {where}: the database does not exist.",
                fix=f"create the database or correct {var}",
            )
        if _UNREACHABLE.search(detail):
            return StepInputError(
                f"cannot connect to {where}: {_unreachable_reason(detail)}.",
                fix=f"start the server or correct {var}",
            )
    if isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError):
        return StepInputError(
            f"{where} rejected the data: {detail}.",
            fix="make the data fit the table's column types and constraints",
        )
    if isinstance(exc, sa.exc.ProgrammingError):
        return StepInputError(
            f"{where} rejected the statement: {detail}.",
            fix="check the table, schema and column names and the SQL",
        )
    if isinstance(exc, TypeError | ValueError):
        return StepInputError(
            f"{where} cannot take a value: {detail}.",
            fix="convert the column to text, numbers or dates before writing it",
        )
    return StepInputError(f"database error on {where}: {detail}.", fix=f"check {var} and the SQL")


def db_error_cause(exc: BaseException) -> BaseException:
    """The SQLAlchemy error inside a pandas DatabaseError (whose text quotes the SQL)."""
    cause = exc.__cause__
    return cause if not isinstance(exc, SQLAlchemyError) and cause is not None else exc


def _driver_message(exc: BaseException) -> str:
    """The driver's first message line, without SQLAlchemy's SQL and parameter dump."""
    orig = getattr(exc, "orig", None) or exc
    args = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = f"{args[1]} (error {args[0]})"  # PyMySQL: (code, message)
    else:
        text = str(orig)
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    return first.rstrip(".")[:300]


def _unreachable_reason(detail: str) -> str:
    low = detail.lower()
    if "refused" in low:
        return "connection refused"
    if "timed out" in low or "timeout" in low:
        return "connection timed out"
    if "host" in low and ("translate" in low or "not known" in low):
        return "unknown host"
    return detail


def _scrub(text: str, url: str | URL) -> str:
    try:
        password = sa.make_url(url).password if isinstance(url, str) else url.password
    except (ArgumentError, ValueError):
        return text
    return text.replace(str(password), "***") if password else text
