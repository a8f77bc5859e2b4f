"""The Dagster instance: SQLite in a local DAGSTER_HOME by default, PostgreSQL when
$DATASETGEN_POSTGRES_URL or $DATASETGEN_POSTGRES_HOST is set."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
SQLITE_CONFIG = ROOT / "dagster.yaml"
POSTGRES_CONFIG = ROOT / "deploy" / "dagster.postgres.yaml"


def uses_postgres() -> bool:
    return bool(os.environ.get("DATASETGEN_POSTGRES_URL") or
                os.environ.get("DATASETGEN_POSTGRES_HOST"))


def normalize_postgres_url(url: str) -> str:
    """SQLAlchemy 2.1 maps postgresql:// to psycopg 3; Dagster needs psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def postgres_url_from_parts() -> str:
    """A URL from DATASETGEN_POSTGRES_HOST/_PORT/_USER/_PASSWORD/_DB."""
    env = os.environ.get
    user = quote(env("DATASETGEN_POSTGRES_USER", "postgres"), safe="")
    password = env("DATASETGEN_POSTGRES_PASSWORD")
    auth = user + (":" + quote(password, safe="") if password else "")
    return (f"postgresql+psycopg2://{auth}@{env('DATASETGEN_POSTGRES_HOST')}:"
            f"{env('DATASETGEN_POSTGRES_PORT', '5432')}/{env('DATASETGEN_POSTGRES_DB', 'dagster')}")


def ensure_dagster_home(project_dir: Path | None = None) -> Path:
    """Set DAGSTER_HOME (default <project>/.dagster_home) and write its dagster.yaml for the
    storage in use. Idempotent."""
    home = Path(os.environ.get("DAGSTER_HOME") or (project_dir or Path.cwd()) / ".dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home.resolve())
    if not os.environ.get("DATASETGEN_POSTGRES_URL") and os.environ.get("DATASETGEN_POSTGRES_HOST"):
        os.environ["DATASETGEN_POSTGRES_URL"] = postgres_url_from_parts()
    if os.environ.get("DATASETGEN_POSTGRES_URL"):
        os.environ["DATASETGEN_POSTGRES_URL"] = normalize_postgres_url(
            os.environ["DATASETGEN_POSTGRES_URL"])
    source = POSTGRES_CONFIG if uses_postgres() else SQLITE_CONFIG
    target = home / "dagster.yaml"
    if not target.exists() or target.read_bytes() != source.read_bytes():
        tmp = target.with_suffix(".yaml.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    return home
