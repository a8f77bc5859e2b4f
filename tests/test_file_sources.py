"""File sources (csv, json, excel, parquet) and the local side of datasetgen_resources.files."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from datasetgen_assets.errors import StepInputError, UnknownColumnError
from datasetgen_assets.steps.registry import StepContext, StepResult, get_step_type
from datasetgen_resources import files

SOURCES = ("csv", "json", "excel", "parquet")


@pytest.fixture
def ctx(tmp_path: Path) -> StepContext:
    return StepContext(base_dir=tmp_path)


def run(type_name: str, ctx: StepContext, **config) -> StepResult:
    step = get_step_type(type_name)
    return step.run([], step.config_model(**config), ctx)


def infer(type_name: str, ctx: StepContext, **config):
    step = get_step_type(type_name)
    return step.infer_columns(step.config_model(**config), [], ctx)


def estimate(type_name: str, ctx: StepContext, **config):
    step = get_step_type(type_name)
    return step.estimate_rows(step.config_model(**config), [], ctx)


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> Path:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return path


# -- registration ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SOURCES)
def test_sources_are_registered_as_projectable_sources(name):
    step = get_step_type(name)
    assert (step.kind, step.min_inputs, step.max_inputs, step.projectable) == ("source", 0, 0, True)
    assert name in step.kinds
    props = step.config_model.model_json_schema()["properties"]
    assert {"path", "columns", "include_source_file"} <= set(props)
    assert all(p.get("description") for p in props.values()), "every field needs a description"
    with pytest.raises(ValidationError, match="extra"):
        step.config_model(path="x", colums=["a"])


# -- the local file layer ------------------------------------------------------------------


def test_expand_globs_sorted_files_only(tmp_path):
    for rel in ["b.csv", "a.csv", "sub/c.csv", "sub/deeper/d.csv", "notes.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x\n")
    (tmp_path / "dir.csv").mkdir()

    assert files.expand(str(tmp_path / "*.csv")) == [str(tmp_path / n) for n in ("a.csv", "b.csv")]
    deep = files.expand(str(tmp_path / "**" / "*.csv"))
    assert [Path(p).relative_to(tmp_path).as_posix() for p in deep] == [
        "a.csv", "b.csv", "sub/c.csv", "sub/deeper/d.csv",
    ]  # fmt: skip
    assert files.expand(str(tmp_path / "a.csv")) == [str(tmp_path / "a.csv")]


def test_expand_errors_name_the_pattern(tmp_path):
    with pytest.raises(StepInputError, match=re.escape(f"file not found: {tmp_path}/x.csv")):
        files.expand(str(tmp_path / "x.csv"))
    with pytest.raises(StepInputError, match=re.escape(f"no file matches '{tmp_path}/*.tsv'")):
        files.expand(str(tmp_path / "*.tsv"))


def test_read_size_exists_local(tmp_path):
    path = str(tmp_path / "f.bin")
    assert not files.exists(path)
    files.write_bytes_atomic(path, b"abc")
    assert (files.read_bytes(path), files.size(path), files.exists(path)) == (b"abc", 3, True)
    with pytest.raises(StepInputError, match="file not found"):
        files.read_bytes(str(tmp_path / "missing.bin"))


# -- errors every source shares ------------------------------------------------------------


@pytest.mark.parametrize(("name", "file"), [("csv", "a.csv"), ("json", "a.json"),
                                            ("excel", "a.xlsx"), ("parquet", "a.parquet")])
def test_missing_and_empty_files(ctx, tmp_path, name, file):
    with pytest.raises(StepInputError, match=re.escape(f"file not found: {tmp_path / file}")):
        run(name, ctx, path=file)
    (tmp_path / file).write_bytes(b"")
    with pytest.raises(StepInputError, match=re.escape(f"{tmp_path / file}: file is empty")) as e:
        run(name, ctx, path=file)
    assert e.value.fix


# -- csv -----------------------------------------------------------------------------------


def test_csv_reads_with_report(ctx, tmp_path):
    (tmp_path / "p.csv").write_text("id;name;score\n1;ann;2.5\n2;bob;3.0\n")
    result = run("csv", ctx, path="p.csv", delimiter=";")
    assert result.frame.to_dict("list") == {
        "id": [1, 2], "name": ["ann", "bob"], "score": [2.5, 3.0],
    }  # fmt: skip
    report = result.report
    assert (report["rows"], report["files_read"]) == (2, 1)
    assert report["columns"] == ["id", "name", "score"]
    assert report["bytes_read"] == (tmp_path / "p.csv").stat().st_size
    assert report["encodings"] == ["utf-8"]


def test_csv_glob_concatenates_in_name_order_with_source_file(ctx, tmp_path):
    (tmp_path / "in").mkdir()
    for i in (2, 0, 1):
        (tmp_path / "in" / f"part{i}.csv").write_text(f"id,v\n{i},{i * 10}\n{i},{i * 10 + 1}\n")
    result = run("csv", ctx, path="in/part*.csv", include_source_file=True)
    assert result.frame["id"].tolist() == [0, 0, 1, 1, 2, 2]
    assert result.frame.index.tolist() == list(range(6))
    assert result.frame["_source_file"].tolist()[::2] == [
        str(tmp_path / "in" / f"part{i}.csv") for i in range(3)
    ]
    assert result.report["files_read"] == 3
    assert [f["rows"] for f in result.report["files"]] == [2, 2, 2]
    assert infer("csv", ctx, path="in/part*.csv") is None  # several files: not guessed


def test_csv_projection_keeps_file_order_and_checks_names(ctx, tmp_path):
    (tmp_path / "p.csv").write_text("a,b,c\n1,2,3\n")
    result = run("csv", ctx, path="p.csv", columns=["c", "a"])
    assert result.frame.columns.tolist() == ["a", "c"]
    assert infer("csv", ctx, path="p.csv", columns=["c", "a"]) == ["a", "c"]
    with_file = infer("csv", ctx, path="p.csv", include_source_file=True)
    assert with_file == ["a", "b", "c", "_source_file"]
    no_bb = r"p\.csv: field 'columns': the file has no column 'bb'"
    with pytest.raises(StepInputError, match=no_bb):
        run("csv", ctx, path="p.csv", columns=["bb"])
    with pytest.raises(UnknownColumnError) as err:
        infer("csv", ctx, path="p.csv", columns=["bb"])
    assert err.value.field == "columns"
    assert "Did you mean 'b'" in str(err.value)


def test_csv_bad_line_error_names_file_line_and_counts(ctx, tmp_path):
    # line 3 holds a quoted line break, so the bad record starts on physical line 6
    (tmp_path / "bad.csv").write_text('a,b,c\n1,2,3\n4,"x\ny",6\n\n7,8,9,10\n11,12,13\n')
    with pytest.raises(StepInputError) as err:
        run("csv", ctx, path="bad.csv")
    msg = str(err.value)
    assert f"{tmp_path / 'bad.csv'}: line 6: expected 3 fields" in msg
    assert "saw 4" in msg
    assert "on_bad_lines: skip" in err.value.fix


def test_csv_skip_lists_every_skipped_line(ctx, tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,4,5\n6,7\n8,9,10,11\n")
    result = run("csv", ctx, path="bad.csv", on_bad_lines="skip")
    assert result.frame.to_dict("list") == {"a": [1, 6], "b": [2, 7]}
    assert result.report["skipped_lines"] == 2
    assert result.report["files"][0]["skipped_line_numbers"] == [3, 5]


def test_csv_first_data_line_too_long_is_not_turned_into_an_index(ctx, tmp_path):
    # pandas alone would silently use the extra field as the index and shift every value
    (tmp_path / "shift.csv").write_text("a,b\n1,2,3\n4,5\n")
    with pytest.raises(StepInputError, match=r"shift\.csv: line 2: expected 2 fields .*saw 3"):
        run("csv", ctx, path="shift.csv")
    result = run("csv", ctx, path="shift.csv", on_bad_lines="skip")
    assert result.frame.to_dict("list") == {"a": [4], "b": [5]}
    assert result.report["files"][0]["skipped_line_numbers"] == [2]


def test_csv_projection_still_catches_bad_lines(ctx, tmp_path):
    # pandas' usecols ignores extra fields; a projected read must not hide a broken line
    (tmp_path / "bad.csv").write_text("a,b,c\n1,2,3\n4,5,6,7\n")
    with pytest.raises(StepInputError, match="line 3: expected 3 fields"):
        run("csv", ctx, path="bad.csv", columns=["a"])


def test_csv_unclosed_quote_names_file(ctx, tmp_path):
    (tmp_path / "q.csv").write_text('a,b\n1,"open\n2,3\n')
    with pytest.raises(StepInputError, match=r"q\.csv: cannot parse as CSV") as err:
        run("csv", ctx, path="q.csv")
    assert "quoting" in err.value.fix


def test_csv_only_blank_lines(ctx, tmp_path):
    (tmp_path / "blank.csv").write_text("\n\n")
    with pytest.raises(StepInputError, match=r"blank\.csv: no header line"):
        run("csv", ctx, path="blank.csv")


def test_csv_detects_latin1_and_reports_it(ctx, tmp_path):
    text = "id,name,city\n" + "".join(
        f"{i},{n},{c}\n"
        for i, (n, c) in enumerate([("José", "Zürich"), ("François", "São Paulo"), ("Zoë", "Köln")])
    )
    (tmp_path / "l1.csv").write_bytes(text.encode("latin-1"))
    result = run("csv", ctx, path="l1.csv")
    assert result.frame["name"].tolist() == ["José", "François", "Zoë"]
    assert result.frame["city"].tolist() == ["Zürich", "São Paulo", "Köln"]
    assert result.report["encodings"] == ["cp1252"]
    assert result.report["files"][0]["encoding_detected"] is True


def test_csv_detects_cp1252_punctuation(ctx, tmp_path):
    note = "\u201cquoted\u201d \u2013 it\u2019s fine"  # curly quotes, en dash: cp1252 0x80-0x9f
    text = f"item,price,note\nWidget,€5,{note}\nGadget,€7,naïve café\n"
    (tmp_path / "w.csv").write_bytes(text.encode("cp1252"))
    frame = run("csv", ctx, path="w.csv").frame
    assert frame["price"].tolist() == ["€5", "€7"]
    assert frame["note"].tolist() == [note, "naïve café"]


def test_csv_explicit_encoding(ctx, tmp_path):
    (tmp_path / "l1.csv").write_bytes("name\nJosé\nMüller\n".encode("latin-1"))
    result = run("csv", ctx, path="l1.csv", encoding="latin-1")
    assert result.frame["name"].tolist() == ["José", "Müller"]
    assert result.report["files"][0] == {**result.report["files"][0], "encoding": "latin-1"}
    assert "encoding_detected" not in result.report["files"][0]
    not_utf8 = r"l1\.csv: line 2: byte 0xe9 at offset 8 is not valid utf-8"
    with pytest.raises(StepInputError, match=not_utf8):
        run("csv", ctx, path="l1.csv", encoding="utf-8")
    with pytest.raises(ValidationError, match="unknown encoding 'latin-99'"):
        get_step_type("csv").config_model(path="x.csv", encoding="latin-99")


def test_csv_undetectable_encoding_names_offset_line_and_fix(ctx, tmp_path):
    (tmp_path / "bin.csv").write_bytes(b"a,b\n1,2\n" + bytes(range(128, 256)) * 3)
    with pytest.raises(StepInputError) as err:
        run("csv", ctx, path="bin.csv")
    msg = str(err.value)
    assert f"{tmp_path / 'bin.csv'}: line 3: byte 0x80 at offset 8" in msg
    assert "could not be detected" in msg
    assert "`encoding:`" in err.value.fix


def test_csv_utf8_bom_is_not_part_of_the_first_name(ctx, tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeffid,v\n1,2\n".encode())
    assert run("csv", ctx, path="bom.csv").frame.columns.tolist() == ["id", "v"]
    assert infer("csv", ctx, path="bom.csv") == ["id", "v"]


def test_csv_infer_and_estimate(ctx, tmp_path):
    rows = 5000
    (tmp_path / "big.csv").write_text("id,label\n" + "".join(f"{i},row-{i}\n" for i in range(rows)))
    assert infer("csv", ctx, path="big.csv") == ["id", "label"]
    guess = estimate("csv", ctx, path="big.csv")
    assert guess is not None and abs(guess - rows) / rows < 0.1
    assert estimate("csv", ctx, path="none.csv") is None
    assert estimate("csv", ctx, path="s3://bucket/x.csv") is None
    assert infer("csv", ctx, path="s3://bucket/x.csv") is None
    assert infer("csv", ctx, path="s3://bucket/x.csv", columns=["a"]) == ["a"]


# -- json ----------------------------------------------------------------------------------


def test_json_records_are_flattened(ctx, tmp_path):
    records = [{"id": 1, "user": {"name": "a", "geo": {"lat": 1.5}}}, {"id": 2, "tags": ["x"]}]
    (tmp_path / "r.json").write_text(json.dumps(records))
    result = run("json", ctx, path="r.json")
    assert result.frame.columns.tolist() == ["id", "user.name", "user.geo.lat", "tags"]
    assert result.frame["user.geo.lat"].tolist()[0] == 1.5
    assert infer("json", ctx, path="r.json") == ["id", "user.name", "user.geo.lat", "tags"]
    projected = run("json", ctx, path="r.json", columns=["user.name", "id"])
    assert projected.frame.columns.tolist() == ["id", "user.name"]


def test_json_records_path(ctx, tmp_path):
    doc = {"meta": {"n": 2}, "data": {"items": [{"a": 1}, {"a": 2}]}}
    (tmp_path / "d.json").write_text(json.dumps(doc))
    assert run("json", ctx, path="d.json", records_path="data.items").frame["a"].tolist() == [1, 2]
    with pytest.raises(StepInputError, match=r"no key 'itms' at 'data'.*Did you mean 'items'"):
        run("json", ctx, path="d.json", records_path="data.itms")


def test_json_object_at_top_level_suggests_records_path(ctx, tmp_path):
    (tmp_path / "o.json").write_text(json.dumps({"count": 2, "results": [{"a": 1}]}))
    with pytest.raises(StepInputError) as err:
        run("json", ctx, path="o.json")
    assert f"{tmp_path / 'o.json'}: expected a list of records at the top level" in str(err.value)
    assert "found an object with keys [count, results]" in str(err.value)
    assert err.value.fix == "set `records_path: results`"


@pytest.mark.parametrize(
    ("content", "found"),
    [('"text"', "found a string"), ("[1, 2]", "record 0 (0-based) is a number, not an object")],
)
def test_json_not_records(ctx, tmp_path, content, found):
    (tmp_path / "x.json").write_text(content)
    with pytest.raises(StepInputError, match=re.escape(found)):
        run("json", ctx, path="x.json")


def test_json_invalid_names_line_and_column(ctx, tmp_path):
    (tmp_path / "bad.json").write_text('[\n  {"a": 1},\n  {"a": 2,}\n]\n')
    with pytest.raises(StepInputError, match=r"bad\.json: invalid JSON at line 3, column 11"):
        run("json", ctx, path="bad.json")


def test_json_lines_by_extension_and_flag(ctx, tmp_path):
    (tmp_path / "e.jsonl").write_text('{"a": 1}\n\n{"a": 2, "b": {"c": true}}\n')
    result = run("json", ctx, path="e.jsonl")
    assert result.frame.columns.tolist() == ["a", "b.c"]
    assert result.report["files"][0]["format"] == "jsonl"
    (tmp_path / "e.txt").write_text('{"a": 1}\n{"a": 2}\n')
    assert run("json", ctx, path="e.txt", lines=True).frame["a"].tolist() == [1, 2]


def test_json_lines_errors_name_the_line(ctx, tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{"a": 2\n')
    with pytest.raises(StepInputError, match=r"bad\.jsonl: invalid JSON at line 2, column 8"):
        run("json", ctx, path="bad.jsonl")
    (tmp_path / "list.ndjson").write_text('{"a": 1}\n[1]\n')
    with pytest.raises(StepInputError, match=r"list\.ndjson: line 2 is a list, not an object"):
        run("json", ctx, path="list.ndjson")


# -- excel ---------------------------------------------------------------------------------


def test_excel_sheet_by_name_and_index(ctx, tmp_path):
    write_xlsx(tmp_path / "b.xlsx", {"first": pd.DataFrame({"a": [1], 2024: ["x"]}),
                                     "second": pd.DataFrame({"q": [1, 2], "r": [3, 4]})})
    first = run("excel", ctx, path="b.xlsx")
    assert first.frame.columns.tolist() == ["a", "2024"]  # names are always strings
    second = run("excel", ctx, path="b.xlsx", sheet="second", columns=["r"])
    assert second.frame.to_dict("list") == {"r": [3, 4]}
    assert run("excel", ctx, path="b.xlsx", sheet=1).frame["q"].tolist() == [1, 2]
    assert infer("excel", ctx, path="b.xlsx", sheet="second") == ["q", "r"]


def test_excel_missing_sheet_lists_sheets(ctx, tmp_path):
    write_xlsx(tmp_path / "b.xlsx", {"Orders": pd.DataFrame({"a": [1]})})
    with pytest.raises(StepInputError, match=r"no sheet named 'Order'\. Did you mean 'Orders'"):
        run("excel", ctx, path="b.xlsx", sheet="Order")
    with pytest.raises(StepInputError, match="no sheet index 3; the workbook has 1 sheet"):
        run("excel", ctx, path="b.xlsx", sheet=3)


def test_excel_not_a_zip(ctx, tmp_path):
    (tmp_path / "fake.xlsx").write_text("a,b\n1,2\n")
    not_zip = r"fake\.xlsx: not an \.xlsx file \(not a zip archive\)"
    with pytest.raises(StepInputError, match=not_zip):
        run("excel", ctx, path="fake.xlsx")


def test_excel_zip_that_is_not_a_workbook(ctx, tmp_path):
    with zipfile.ZipFile(tmp_path / "z.xlsx", "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(StepInputError, match=r"z\.xlsx: not a readable \.xlsx workbook"):
        run("excel", ctx, path="z.xlsx")


def test_excel_zip_bomb_ratio_is_refused_before_parsing(ctx, tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    monkeypatch.setattr(pd, "ExcelFile", lambda *a, **k: pytest.fail("parsed a zip bomb"))
    with pytest.raises(StepInputError) as err:
        run("excel", ctx, path="bomb.xlsx")
    msg = str(err.value)
    assert "bomb.xlsx: possible zip bomb: member 'xl/worksheets/sheet1.xml'" in msg
    assert "to 8,388,608 bytes" in msg and "max_compression_ratio=100" in msg


def test_excel_uncompressed_size_limit(ctx, tmp_path):
    write_xlsx(tmp_path / "b.xlsx", {"s": pd.DataFrame({"a": range(100)})})
    total = sum(i.file_size for i in zipfile.ZipFile(tmp_path / "b.xlsx").infolist())
    with pytest.raises(StepInputError) as err:
        run("excel", ctx, path="b.xlsx", max_uncompressed_mb=0.001)
    expected = f"expands to {total:,} bytes, over max_uncompressed_mb=0.001 (1,049 bytes)"
    assert expected in str(err.value)
    assert "max_uncompressed_mb" in err.value.fix


# -- parquet -------------------------------------------------------------------------------


def test_parquet_projection_reads_only_the_requested_column_chunks(ctx, tmp_path):
    n = 20_000
    frame = pd.DataFrame({"id": range(n), "blob": [f"{i:08d}-" * 20 for i in range(n)], "v": 1.5})
    frame.to_parquet(tmp_path / "t.parquet", compression=None)
    meta = pq.read_metadata(tmp_path / "t.parquet")

    result = run("parquet", ctx, path="t.parquet", columns=["v", "id"])

    assert result.frame.columns.tolist() == ["id", "v"]
    assert result.frame["id"].tolist() == list(range(n))
    info = result.report["files"][0]
    assert info["columns_read"] == ["id", "v"]
    chunks = sum(
        meta.row_group(g).column(c).total_compressed_size
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
        if meta.row_group(g).column(c).path_in_schema in {"id", "v"}
    )
    assert result.report["bytes_read"] == chunks + meta.serialized_size + 8
    assert result.report["bytes_read"] < info["file_bytes"] / 5  # the blob chunks were skipped


def test_parquet_restores_named_index_and_drops_unnamed(ctx, tmp_path):
    df = pd.DataFrame({"k": ["a", "b", "c"], "v": [1, 2, 3]})
    df.set_index("k").to_parquet(tmp_path / "named.parquet")
    df[df.v > 1].to_parquet(tmp_path / "filtered.parquet")  # unnamed, non-default index
    named = run("parquet", ctx, path="named.parquet")
    assert named.frame.to_dict("list") == {"k": ["a", "b", "c"], "v": [1, 2, 3]}
    assert infer("parquet", ctx, path="named.parquet") == ["k", "v"]
    filtered = run("parquet", ctx, path="filtered.parquet")
    assert filtered.frame.columns.tolist() == ["k", "v"]
    assert filtered.frame.index.tolist() == [0, 1]


def test_parquet_glob_estimate_and_unknown_column(ctx, tmp_path):
    for i in range(3):
        pd.DataFrame({"a": range(i * 10, i * 10 + 10)}).to_parquet(tmp_path / f"p{i}.parquet")
    assert estimate("parquet", ctx, path="p*.parquet") == 30
    assert len(run("parquet", ctx, path="p*.parquet").frame) == 30
    no_b = r"p0\.parquet: field 'columns': the file has no column 'b'.*Columns in the file: a"
    with pytest.raises(StepInputError, match=no_b):
        run("parquet", ctx, path="p*.parquet", columns=["b"])
    with pytest.raises(UnknownColumnError):
        infer("parquet", ctx, path="p0.parquet", columns=["b"])
    assert estimate("parquet", ctx, path="nothing*.parquet") is None


def test_parquet_not_parquet(ctx, tmp_path):
    (tmp_path / "x.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(StepInputError, match=r"x\.parquet: not a readable Parquet file"):
        run("parquet", ctx, path="x.parquet")
    assert infer("parquet", ctx, path="x.parquet") is None
    assert estimate("parquet", ctx, path="x.parquet") is None


def test_every_source_round_trips_a_frame(ctx, tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    frame.to_json(tmp_path / "f.json", orient="records")
    frame.to_parquet(tmp_path / "f.parquet")
    write_xlsx(tmp_path / "f.xlsx", {"s": frame})
    frame.to_csv(tmp_path / "f.csv", index=False)
    for name, file in [("csv", "f.csv"), ("json", "f.json"), ("excel", "f.xlsx"),
                       ("parquet", "f.parquet")]:
        got = run(name, ctx, path=file, include_source_file=True).frame
        assert got.drop(columns="_source_file").astype(str).equals(frame.astype(str)), name
        assert set(got["_source_file"]) == {str(tmp_path / file)}
