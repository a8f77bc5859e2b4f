"""`datasetgen ui`: its local JWT secret and what it prints."""

from __future__ import annotations

import stat

from click.testing import CliRunner

from datasetgen_assets.cli import main
from datasetgen_assets.commands.ui import local_secret, secret_file


def test_local_secret_is_made_once_private_outside_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv("DATASETGEN_JWT_SECRET", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    first = local_secret()
    path = secret_file()
    assert path == tmp_path / "config" / "datasetgen" / "jwt_secret"
    assert len(first) >= 48 and path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret() == first  # tokens stay valid across restarts
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "other"))
    assert local_secret() != first


def test_environment_secret_wins_and_no_file_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("DATASETGEN_JWT_SECRET", "s" * 40)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert local_secret() == "s" * 40
    assert not secret_file().exists()


def test_ui_help_names_the_builder_and_ports():
    out = CliRunner().invoke(main, ["ui", "--help"]).output
    assert "/builder" in out and "--api-port" in out and "--dagster-port" in out
