"""`datasetgen ui`: its local JWT secret and what it prints."""

from __future__ import annotations

import stat

from click.testing import CliRunner

from datasetgen_assets.cli import main
from datasetgen_assets.commands.ui import SECRET_FILE, local_secret


def test_local_secret_is_made_once_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("DATASETGEN_JWT_SECRET", raising=False)
    first = local_secret(tmp_path)
    path = tmp_path / SECRET_FILE
    assert len(first) >= 48 and path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secret(tmp_path) == first  # tokens stay valid across restarts
    assert local_secret(tmp_path / "other") != first


def test_environment_secret_wins_and_no_file_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("DATASETGEN_JWT_SECRET", "s" * 40)
    assert local_secret(tmp_path) == "s" * 40
    assert not (tmp_path / SECRET_FILE).exists()


def test_ui_help_names_the_builder_and_ports():
    out = CliRunner().invoke(main, ["ui", "--help"]).output
    assert "/builder" in out and "--api-port" in out and "--dagster-port" in out
