"""`datasetgen api [--host H] [--port P]`: serve the REST API (datasetgen_api) with uvicorn."""

from __future__ import annotations

import sys

import click

from datasetgen_assets.cli import err, main


@main.command("api")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 only behind a TLS proxy).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def api(host: str, port: int, workers: int, log_level: str) -> None:
    """Serve the REST API. Needs $DATASETGEN_JWT_SECRET; runs go through the Dagster
    webserver at $DATASETGEN_DAGSTER_URL (default http://127.0.0.1:3000)."""
    import uvicorn

    from datasetgen_api.security import AuthConfigError, _secret

    try:
        _secret()
    except AuthConfigError as exc:
        err.print(f"✗ {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    uvicorn.run("datasetgen_api.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level=log_level, proxy_headers=True)
