"""The `write` sink and files.write_atomic on local paths: formats, partitions, atomicity."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps import write as write_step
from datasetgen_assets.steps.registry import StepContext, StepResult, get_step_type
from datasetgen_resources import files

FRAME = pd.DataFrame(
    {
        "id": [1, 2, 3],
        "name": ["ann", "bob", None],
        "score": [0.1, 123456.789012345, float("nan")],
        "when": pd.to_datetime(["2024-01-01 00:00", "2024-02-29 12:30", None]),
    }
)


def write(frame: pd.DataFrame, ctx: StepContext, **config) -> StepResult:
    step = get_step_type("write")
    return step.run([frame], step.config_model(**config), ctx)


@pytest.fixture
def ctx(tmp_path: Path) -> StepContext:
    return StepContext(base_dir=tmp_path)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_registered_as_a_sink_needing_all_columns():
    step = get_step_type("write")
    assert (step.kind, step.min_inputs, step.max_inputs) == ("sink", 1, 1)
    config = step.config_model(path="out.csv")
    assert step.needed_inputs(config, {"id"}, [["id", "name"]]) == [None]
    assert step.infer_columns(config, [["id", "name"]], StepContext()) == ["id", "name"]
    props = step.config_model.model_json_schema()["properties"]
    assert all(p.get("description") for p in props.values())


@pytest.mark.parametrize(
    ("file", "read"),
    [
        ("o.csv", lambda p: pd.read_csv(p, parse_dates=["when"])),
        ("o.parquet", pd.read_parquet),
        ("o.jsonl", lambda p: pd.read_json(p, lines=True, convert_dates=["when"])),
        ("o.ndjson", lambda p: pd.read_json(p, lines=True, convert_dates=["when"])),
        ("o.xlsx", pd.read_excel),
    ],
)
def test_formats_by_extension_round_trip(ctx, tmp_path, file, read):
    result = write(FRAME, ctx, path=f"nested/dir/{file}")
    target = tmp_path / "nested" / "dir" / file
    assert result.frame is FRAME  # passed on unchanged
    assert result.report == {
        "path": str(target),
        "format": {".ndjson": "jsonl"}.get(target.suffix, target.suffix[1:]),
        "rows": 3,
        "bytes": target.stat().st_size,
    }
    back = read(target)
    assert back["id"].tolist() == [1, 2, 3]
    assert back["name"].tolist()[:2] == ["ann", "bob"]
    assert back["score"].tolist()[:2] == [0.1, 123456.789012345]
    assert back["when"].tolist()[:2] == FRAME["when"].tolist()[:2]
    assert leftovers(target.parent) == []


def test_json_is_one_array_of_records_with_nulls_and_iso_dates(ctx, tmp_path):
    write(FRAME, ctx, path="o.json")
    records = json.loads((tmp_path / "o.json").read_text())
    assert isinstance(records, list) and len(records) == 3
    assert records[1] == {"id": 2, "name": "bob", "score": 123456.789012345,
                          "when": "2024-02-29T12:30:00.000"}
    assert records[2]["name"] is None and records[2]["score"] is None


def test_format_field_overrides_extension(ctx, tmp_path):
    report = write(FRAME, ctx, path="export.txt", format="jsonl").report
    assert report["format"] == "jsonl"
    lines = (tmp_path / "export.txt").read_text().splitlines()
    assert json.loads(lines[0])["name"] == "ann"


def test_unknown_extension_is_a_config_error():
    with pytest.raises(ValidationError, match=r"cannot tell the output format from 'out\.dat'"):
        get_step_type("write").config_model(path="out.dat")
    with pytest.raises(ValidationError, match="format"):
        get_step_type("write").config_model(path="out.csv", format="yaml")


def test_partition_key_fills_the_path(tmp_path):
    ctx = StepContext(base_dir=tmp_path, partition_key="2024-05-01")
    report = write(FRAME, ctx, path="out/{partition}/data.parquet").report
    assert report["path"] == str(tmp_path / "out" / "2024-05-01" / "data.parquet")
    assert len(pd.read_parquet(report["path"])) == 3


def test_partition_placeholder_without_or_with_unsafe_key(tmp_path):
    no_key = r"contains \{partition\} but this run has no partition key"
    with pytest.raises(StepInputError, match=no_key):
        write(FRAME, StepContext(base_dir=tmp_path), path="out/{partition}.csv")
    assert list(tmp_path.iterdir()) == []
    # upload keys with folders or dots stay one file name inside the folder
    for key, name in (("../x", "..__x.csv"), ("orders/2024/a b.csv", "orders__2024__a b.csv.csv"),
                      ("..", "_...csv")):
        out = write(FRAME, StepContext(base_dir=tmp_path / "o", partition_key=key),
                    path="{partition}.csv").report["path"]
        assert out == str(tmp_path / "o" / name)
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(
        ["..__x.csv", "orders__2024__a b.csv.csv", "_...csv"])


def test_failed_parquet_write_leaves_the_previous_file_intact(ctx, tmp_path):
    write(FRAME, ctx, path="o.parquet")
    before = (tmp_path / "o.parquet").read_bytes()
    mixed = pd.DataFrame({"id": range(1000), "bad": [1] * 999 + ["text"]}).astype({"bad": object})

    with pytest.raises(StepInputError) as err:
        write(mixed, ctx, path="o.parquet")

    assert f"{tmp_path / 'o.parquet'}: could not write parquet" in str(err.value)
    assert "previous file, if any, is unchanged" in str(err.value)
    assert (tmp_path / "o.parquet").read_bytes() == before
    assert leftovers(tmp_path) == []


def test_write_failing_after_some_bytes_leaves_the_previous_file(ctx, tmp_path, monkeypatch):
    write(FRAME, ctx, path="o.parquet")
    before = (tmp_path / "o.parquet").read_bytes()

    def torn(frame, f):
        f.write(before[: len(before) // 2])  # a real half-file lands in the temp file
        raise ValueError("connection reset while streaming")

    monkeypatch.setitem(write_step.WRITERS, "parquet", torn)
    with pytest.raises(StepInputError, match="connection reset while streaming"):
        write(FRAME, ctx, path="o.parquet")
    assert (tmp_path / "o.parquet").read_bytes() == before
    assert leftovers(tmp_path) == []


def test_failed_xlsx_write_leaves_the_previous_file_intact(ctx, tmp_path):
    write(FRAME, ctx, path="o.xlsx")
    before = (tmp_path / "o.xlsx").read_bytes()
    aware = pd.DataFrame({"t": pd.to_datetime(["2024-01-01"]).tz_localize("UTC")})
    with pytest.raises(StepInputError, match="could not write xlsx"):
        write(aware, ctx, path="o.xlsx")
    assert (tmp_path / "o.xlsx").read_bytes() == before
    assert leftovers(tmp_path) == []


def test_write_atomic_failure_mid_write_keeps_old_content(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"good old content")

    def half_then_fail(f):
        f.write(b"half of the new")
        f.flush()
        raise KeyboardInterrupt  # even a BaseException must not leave a torn file

    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(str(target), half_then_fail)
    assert target.read_bytes() == b"good old content"
    assert leftovers(tmp_path) == []


def test_write_atomic_replaces_and_keeps_mode(tmp_path):
    target = tmp_path / "new" / "data.bin"
    assert files.write_bytes_atomic(str(target), b"v1") == 2
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not mkstemp's 0600
    os.chmod(target, 0o640)
    assert files.write_bytes_atomic(str(target), b"version 2") == 9
    assert target.read_bytes() == b"version 2"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
