"""The `pdf` source step: every output, table selection, a pipeline run through Dagster, and
the `datasetgen pdf` command's JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from click.testing import CliRunner

from datasetgen_assets.cli import main
from datasetgen_assets.errors import PipelineValidationError, StepInputError
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_assets.steps.registry import StepContext, get_step_type
from datasetgen_resources import datasetgen_resources
from tests import pdf_fixtures as F


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pdfs")
    F.table_set(folder)
    F.document(folder)
    F.document(folder, with_outline=False)
    F.scanned(folder)
    return folder


def run(folder: Path, **config):
    st = get_step_type("pdf")
    return st.run([], st.config_model(**config), StepContext(base_dir=folder))


def test_long_tables_have_provenance_and_exact_decimals(pdfs):
    res = run(pdfs, path="decimals.pdf")
    df = res.frame
    assert list(df.columns[:7]) == ["file", "page", "table_index", "bbox", "confidence",
                                    "method", "row_index"]
    _, truth = F.decimals(pdfs)
    cells = df[[f"col_{i}" for i in range(5)]].values.tolist()
    assert cells == truth[0]["rows"]  # "3.30" stays "3.30" (Table.extract gives "330\n.")
    assert set(df["page"]) == {1} and df["confidence"].iloc[0] > 0.9
    assert df["bbox"].iloc[0] == "60,80,470,314"
    assert res.report["tables_found"] == 1


def test_multi_page_tables_and_glob(pdfs):
    df = run(pdfs, path="multipage.pdf").frame
    _, truth = F.multipage(pdfs)
    assert sorted(df["page"].unique()) == [1, 2, 3]
    for t_index, t in enumerate(truth):
        part = df[df["table_index"] == t_index]
        width = len(t["rows"][0])
        assert part[[f"col_{i}" for i in range(width)]].values.tolist() == t["rows"]
    both = run(pdfs, path="[dm]*.pdf").frame  # decimals + multipage
    assert both["file"].nunique() == 2


def test_selected_table_uses_the_header_row_as_columns(pdfs):
    df = run(pdfs, path="*.pdf", table={"header_contains": "revenue"}).frame
    assert list(df.columns) == ["Product", "Region", "Units", "Revenue"]
    assert df["Revenue"].tolist()[:2] == ["1,540.25", "990.10"]
    page2 = run(pdfs, path="multipage.pdf", table={"page": 2}).frame
    assert list(page2.columns) == ["Batch", "Metric 1", "Metric 2", "Metric 3"]
    assert len(page2) == 10
    with pytest.raises(StepInputError, match=r"field 'table'.*no table 7.*multipage.pdf page 1"):
        run(pdfs, path="multipage.pdf", table=7)


def test_min_confidence_and_text_fallback(pdfs):
    assert run(pdfs, path="unruled.pdf").frame.empty  # lines detector: no ruled grid
    guessed = run(pdfs, path="unruled.pdf", text_fallback=True)
    assert set(guessed.frame["method"]) == {"text"}
    assert guessed.frame["confidence"].max() < 0.65  # without ruling: at most 0.65, never high
    assert guessed.frame["col_0"].tolist()[1:3] == ["Lyon", "Porto"]
    strict = run(pdfs, path="unruled.pdf", text_fallback=True, min_confidence=0.7)
    assert strict.frame.empty and strict.report["tables_below_min_confidence"] >= 1


def test_metadata_sections_and_images(pdfs):
    meta = run(pdfs, path="report.pdf", output="metadata").frame.iloc[0]
    assert meta["title"] == "Annual Report 2025" and meta["author"] == "Jane Analyst"
    assert meta["pages"] == 2 and not meta["encrypted"] and meta["has_outline"]
    assert meta["creation_date"] == pd.Timestamp("2025-01-02 03:04:05", tz="UTC")
    secs = run(pdfs, path="report.pdf", output="sections").frame
    outlined = secs[secs["heading_source"] == "outline"]
    assert outlined["heading"].tolist() == ["1 Introduction", "1.1 Scope", "2 Operations",
                                            "3 Outlook"]
    assert outlined["level"].tolist() == [1, 2, 1, 1]
    assert outlined["page"].tolist() == [1, 1, 2, 2]
    assert "Maintenance windows" in outlined["text"].iloc[2]
    by_font = run(pdfs, path="report_no_outline.pdf", output="sections").frame
    levels = dict(zip(by_font["heading"], by_font["level"], strict=True))
    assert levels["Annual Report"] < levels["1 Introduction"] < levels["1.1 Scope"]
    assert levels["2 Operations"] == levels["1 Introduction"]
    assert set(by_font["heading_source"]) == {"font"}
    imgs = run(pdfs, path="report.pdf", output="images").frame
    assert imgs[["page", "width", "height"]].values.tolist() == [[1, 200, 100]]
    assert imgs["bbox"].iloc[0] == "72,230,272,330"
    assert imgs["caption"].iloc[0] == "Figure 1: Revenue by month in 2025"


def test_scanned_page_is_flagged_with_an_ocr_note(pdfs, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    res = run(pdfs, path="scanned.pdf", output="pages")
    assert res.frame["scanned"].tolist() == [False, True]
    assert res.frame["text_source"].tolist() == ["text", "none"]
    assert "tesseract is not installed" in res.report["ocr_note"]
    assert res.report["scanned_pages"] == [str(pdfs / "scanned.pdf") + "#2"]
    text = run(pdfs, path="scanned.pdf", output="text").frame
    assert text["text"].tolist()[0] == "A normal page with a text layer."
    tables = run(pdfs, path="scanned.pdf")
    assert tables.frame.empty and tables.report["scanned_pages"] == [str(pdfs / "scanned.pdf")
                                                                     + "#2"]


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_scanned_page_is_read_by_ocr_when_tesseract_is_installed(pdfs):
    res = run(pdfs, path="scanned.pdf", output="text")
    assert res.frame["scanned"].tolist() == [False, True]
    assert res.frame["text_source"].tolist() == ["text", "ocr"]
    assert res.report["ocr_pages"] == 1 and "ocr_note" not in res.report
    assert F.SCANNED_TEXT[0] in res.frame["text"].iloc[1]
    assert "123.45" in res.frame["text"].iloc[1]
    off = run(pdfs, path="scanned.pdf", output="text", ocr=False)
    assert off.frame["text_source"].tolist() == ["text", "none"]


def test_config_errors_are_reported_before_running(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "name: bad_pdf\nsteps:\n"
        "  - {id: doc, type: pdf, config: {path: a.pdf, output: text, table: 0}}\n"
        "  - {id: doc2, type: pdf, config: {path: a.pdf, password_env: 'my secret'}}\n")
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline(tmp_path / "p.yaml")
    text = str(info.value)
    assert "step 'doc'" in text and "set `output: tables` or remove `table:`" in text
    assert "step 'doc2'" in text and "NAME of an environment variable" in text


def test_pipeline_materializes_pdf_steps_as_assets(pdfs, tmp_path):
    (tmp_path / "p.yaml").write_text(f"""
name: docs
steps:
  - id: sales
    type: pdf
    config: {{path: {pdfs}/ruled.pdf, table: {{header_contains: Revenue}}}}
  - id: all_tables
    type: pdf
    config: {{path: "{pdfs}/*.pdf", min_confidence: 0.8}}
  - id: meta
    type: pdf
    config: {{path: {pdfs}/report.pdf, output: metadata}}
  - id: top
    type: filter
    depends_on: [sales]
    config: {{condition: "Region != 'West'"}}
  - id: out
    type: write
    depends_on: [top]
    config: {{path: {tmp_path}/sales.csv}}
""")
    pipeline = load_pipeline(tmp_path / "p.yaml")
    sales = next(s for s in pipeline.spec.steps if s.id == "sales")
    st = get_step_type("pdf")
    assert st.infer_columns(st.config_model(**sales.config), [], StepContext()) == [
        "Product", "Region", "Units", "Revenue"]  # known at planning: `validate` checks names
    built = build_pipeline(pipeline)
    result = dg.materialize(built["assets"], resources=datasetgen_resources(str(tmp_path / "a")),
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    out = pd.read_csv(tmp_path / "sales.csv", dtype=str)
    assert out["Product"].tolist() == ["Widget A", "Widget B", "Gadget C", "Doohickey E"]
    mats = {e.asset_key.path[-1]: e for e in result.get_asset_materialization_events()}
    assert {"sales", "all_tables", "meta", "top", "out"} <= set(mats)


def test_cli_tables_json_shape(pdfs):
    res = CliRunner().invoke(main, ["pdf", str(pdfs / "decimals.pdf"), "--tables", "--json"])
    assert res.exit_code == 0, res.output
    tables = json.loads(res.output)
    assert len(tables) == 1
    t = tables[0]
    assert {"page", "bbox", "confidence", "rows"} <= set(t)
    assert t["page"] == 1 and len(t["bbox"]) == 4 and 0 <= t["confidence"] <= 1
    assert t["rows"][0] == ["Sensor", "Mean", "Min", "Max", "Delta %"]  # header row first
    assert t["rows"][1][1] == "3.30"
    assert all(isinstance(c, str) for row in t["rows"] for c in row)


def test_cli_text_json_and_human_output(pdfs):
    res = CliRunner().invoke(main, ["pdf", str(pdfs / "report.pdf"), "--text", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["metadata"]["title"] == "Annual Report 2025"
    assert [s["heading"] for s in doc["sections"] if s["level"] == 1] == [
        "1 Introduction", "2 Operations", "3 Outlook"]
    human = CliRunner().invoke(main, ["pdf", str(pdfs / "ruled.pdf")])
    assert human.exit_code == 0 and "confidence 1.00" in human.output
    assert "Doohickey E" in human.output


@pytest.mark.service
def test_s3_prefix_glob_reads_every_pdf(s3, pdfs):
    from datasetgen_resources import files

    for name in ("ruled.pdf", "decimals.pdf"):
        files.write_bytes_atomic(s3.url(f"docs/{name}"), (pdfs / name).read_bytes())
    files.write_bytes_atomic(s3.url("docs/notes.txt"), b"not matched")
    res = run(pdfs, path=s3.url("docs/*.pdf"), min_confidence=0.9)
    assert sorted(res.frame["file"].unique()) == [s3.url("docs/decimals.pdf"),
                                                  s3.url("docs/ruled.pdf")]
    meta = run(pdfs, path=s3.url("docs/ruled.pdf"), output="metadata").frame
    assert meta["pages"].tolist() == [1]
