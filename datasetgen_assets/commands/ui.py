"""`datasetgen ui`: the Dagster UI (webserver + daemon) and the REST API with the visual
builder and the dashboard, together on this machine, until Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from datasetgen_assets.cli import err, main


def secret_file() -> Path:
    """Where the local secret lives: the user's config folder, outside every project (pipeline
    paths resolve inside the project; the secret must not be a file they can name)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "datasetgen" / "jwt_secret"


def local_secret() -> str:
    """$DATASETGEN_JWT_SECRET, else this user's own random secret, made once (mode 0600) in
    the config folder so tokens stay valid across restarts."""
    if os.environ.get("DATASETGEN_JWT_SECRET"):
        return os.environ["DATASETGEN_JWT_SECRET"]
    path = secret_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


@main.command("ui")
@click.option("--dagster-port", default=3000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--api-port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workspace", default="default", show_default=True,
              help="Workspace of the printed builder token.")
def ui(dagster_port: int, api_port: int, workspace: str) -> None:
    """Start `dagster dev` (UI, daemon: schedules, sensors, queued runs) and the REST API
    (visual builder at /builder, dashboard at /dashboard) on 127.0.0.1, and print the links
    with a one-hour data_scientist token (builds, saves and runs pipelines). Ctrl-C stops both."""
    from datasetgen_api.security import issue_token
    from datasetgen_assets.instance import ensure_dagster_home

    project = Path(os.environ.get("DATASETGEN_PROJECT_DIR") or Path.cwd()).resolve()
    ensure_dagster_home(project)
    dagster_url = f"http://127.0.0.1:{dagster_port}"
    secret = local_secret()
    env = {**os.environ, "DATASETGEN_PROJECT_DIR": str(project),
           "DATASETGEN_DAGSTER_URL": os.environ.get("DATASETGEN_DAGSTER_URL", dagster_url)}
    env.pop("DATASETGEN_JWT_SECRET", None)  # Dagster and the runs do not need it
    os.environ["DATASETGEN_JWT_SECRET"] = secret
    token = issue_token(os.environ.get("USER") or "local", ("data_scientist",), workspace, 3600)
    bindir = Path(sys.executable).parent
    procs = [
        subprocess.Popen([str(bindir / "dagster"), "dev", "-w", str(project / "workspace.yaml"),
                          "-h", "127.0.0.1", "-p", str(dagster_port)],
                         cwd=project, env=env, start_new_session=True),
        subprocess.Popen([str(bindir / "datasetgen"), "api", "--port", str(api_port),
                          "--log-level", "warning"],
                         cwd=project, env={**env, "DATASETGEN_JWT_SECRET": secret},
                         start_new_session=True),
    ]
    api = f"http://127.0.0.1:{api_port}"
    err.print(f"Dagster UI      {dagster_url}\n"
              f"Visual builder  {api}/builder#token={token}\n"
              f"Dashboard       {api}/dashboard#token={token}\n"
              f"REST API docs   {api}/docs\n"
              "(the token is a data_scientist's for one hour: `datasetgen token` makes others; "
              "Ctrl-C stops everything)", markup=False, soft_wrap=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        failed = [p for p in procs if p.poll() not in (None, 0)]
        if failed:
            err.print(f"✗ {' '.join(failed[0].args[:2])} exited with {failed[0].returncode}",
                      markup=False)
    except KeyboardInterrupt:
        pass
    finally:
        _stop(procs)
