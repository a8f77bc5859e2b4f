"""`datasetgen token --role R --workspace W [--sub S] [--ttl N]`: a signed API access token
for local use (needs $DATASETGEN_JWT_SECRET, the same secret the API verifies with)."""

from __future__ import annotations

import sys

import click

from datasetgen_assets.cli import err, main

ROLES = ("viewer", "analyst", "data_scientist", "admin")


@main.command()
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="Role of the caller (repeat for several).")
@click.option("--workspace", required=True, help="Workspace whose datasets the caller sees.")
@click.option("--sub", default=None, help="Subject (user id); default: $USER or 'local'.")
@click.option("--ttl", default=900, show_default=True, type=click.IntRange(min=1),
              help="Lifetime in seconds (at most $DATASETGEN_JWT_MAX_TTL, default 3600).")
def token(roles: tuple[str, ...], workspace: str, sub: str | None, ttl: int) -> None:
    """Print a bearer token: curl -H "Authorization: Bearer $(datasetgen token ...)"."""
    import os

    from datasetgen_api.security import AuthConfigError, issue_token, max_ttl

    if ttl > max_ttl():
        err.print(f"--ttl {ttl}: tokens may live at most {max_ttl()} s "
                  "(DATASETGEN_JWT_MAX_TTL); the API would refuse this one. Use a smaller --ttl.",
                  markup=False, soft_wrap=True)
        sys.exit(2)
    if not workspace.strip():
        err.print("--workspace: give a non-empty workspace name", markup=False)
        sys.exit(2)
    try:
        text = issue_token(sub or os.environ.get("USER") or "local", roles, workspace, ttl)
    except AuthConfigError as exc:
        err.print(str(exc), markup=False, soft_wrap=True)
        sys.exit(2)
    click.echo(text)
