"""The `datasetgen` command: validate, explain, run, steps."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from datasetgen_assets.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_validate_reports_each_file(project):
    bad = project / "bad.yaml"
    bad.write_text("name: b\nsteps:\n  - {id: a, type: csv, config: {path: x.csv}}\n"
                   "  - {id: f, type: filtr, depends_on: [a], config: {}}\n")
    res = CliRunner().invoke(main, ["validate", "pipelines/customer_orders.yaml", str(bad)])
    assert res.exit_code == 2
    assert "✓ pipelines/customer_orders.yaml: pipeline 'customer_orders', 11 steps" in res.output
    assert "bad.yaml:4: step 'f', field 'type': unknown step type 'filtr'" in res.output
    assert "Did you mean 'filter'" in res.output
    ok = CliRunner().invoke(main, ["validate", "pipelines/product_catalog.yaml"])
    assert ok.exit_code == 0


def test_explain_shows_plans_and_rules(project):
    res = CliRunner().invoke(main, ["explain", "pipelines/product_catalog.yaml"])
    assert res.exit_code == 0, res.output
    assert "plan as written:" in res.output and "optimized plan:" in res.output
    assert "filter_pushdown on 'available'" in res.output
    assert "projection_pushdown on 'raw_products': reads 6 of 7 columns" in res.output
    assert "catalog_xlsx, catalog_parquet" in res.output  # parallel branches


def test_run_materializes_and_prints_outputs(project):
    res = CliRunner().invoke(main, ["run", "pipelines/product_catalog.yaml", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "out/product_catalog.xlsx" in res.output and "succeeded" in res.output
    import pandas as pd

    out = pd.read_parquet(project / "out" / "product_catalog.parquet")
    assert list(out.columns) == ["product_id", "title", "category", "price_eur", "supplier",
                                 "price_band"]
    assert out["price_eur"].between(5, 350).all()


def test_run_exits_nonzero_when_a_gate_fails(project):
    (project / "d.csv").write_text("id\n1\n1\n")
    (project / "g.yaml").write_text(
        "name: g\nsteps:\n  - {id: s, type: csv, config: {path: d.csv}}\n"
        "  - {id: q, type: quality_validation, depends_on: [s], config: {unique: [id]}}\n"
        "  - {id: w, type: write, depends_on: [q], config: {path: out/g.csv}}\n")
    res = CliRunner().invoke(main, ["run", "g.yaml", "--quiet"])
    assert res.exit_code == 1
    assert "check ✗ q.unique" in res.output and "FAILED" in res.output
    assert not (project / "out" / "g.csv").exists()


def test_run_refuses_invalid_file_before_running(project):
    (project / "x.yaml").write_text("name: x\nsteps: [{id: a, type: csv}]\n")
    res = CliRunner().invoke(main, ["run", "x.yaml"])
    assert res.exit_code == 2 and "field 'config.path': is required" in res.output


def test_steps_lists_registered_types():
    res = CliRunner().invoke(main, ["steps"])
    for name in ("csv", "json", "excel", "parquet", "sql", "rest_api", "filter", "select",
                 "join", "aggregate", "sort", "custom_python", "write", "sql_table"):
        assert name in res.output


def test_pipeline_llm_defaults_and_cost_estimate_in_explain(project):
    (project / "llm.yaml").write_text("""
name: cats
llm: {tier: standard, max_cost_usd: 0.5}
steps:
  - {id: p, type: parquet, config: {path: examples/data/products.parquet}}
  - {id: c, type: llm_process, depends_on: [p],
     config: {mode: classify, prompt: "Product: {title}", labels: [a, b], output_column: cat}}
  - {id: d, type: llm_process, depends_on: [c],
     config: {mode: summarize, prompt: "{title}", output_column: s, tier: cheap}}
""")
    from datasetgen_assets.pipeline.spec import load_pipeline

    p = load_pipeline(project / "llm.yaml")
    assert (p.configs["c"].tier, p.configs["c"].max_cost_usd) == ("standard", 0.5)
    assert p.configs["d"].tier == "cheap"  # the step's own setting wins
    res = CliRunner().invoke(main, ["explain", "llm.yaml"])
    assert res.exit_code == 0, res.output
    assert "LLM cost estimate (before cache):" in res.output
    assert "c (llm_process): 40 rows" in res.output and "budget $0.50" in res.output
