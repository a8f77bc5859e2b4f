"""Templates generate and meet their own constraints; `datasetgen generate` / `templates` for
every export format; the `synthetic` step materialized through Dagster."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from click.testing import CliRunner

from datasetgen_assets.cli import main
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_assets.steps.registry import StepContext, get_step_type
from datasetgen_assets.synth.constraints import adherence
from datasetgen_assets.synth.generate import generate
from datasetgen_assets.synth.templates import list_templates, load_template
from datasetgen_resources import datasetgen_resources

TEMPLATES = [t.name for t in list_templates()]


def test_three_or_more_templates_per_industry():
    by = {}
    for t in list_templates():
        by.setdefault(t.industry, []).append(t.name)
    assert {k: len(v) >= 3 for k, v in by.items()} == {
        "e-commerce": True, "healthcare": True, "financial": True}
    assert {"customers", "products", "orders", "order_items"} <= set(
        next(t for t in list_templates() if t.name == "ecommerce").tables)


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_generates_and_meets_its_constraints(name: str):
    schema = load_template(name)
    out = generate(schema, 300, seed=11)
    for table, frame in out.items():
        assert len(frame) > 0
        assert list(frame.columns) == list(schema.table(table).fields)
        adh = adherence(frame, schema.table(table), out)
        assert adh["overall"] == 100.0, (table, {k: v for k, v in adh["constraints"].items()
                                                 if v < 100})


def test_templates_have_realistic_shapes():
    bank = generate(load_template("bank_transactions"), 20_000, seed=1)["bank_transactions"]
    amount = bank["amount"]
    assert amount.median() < amount.mean()  # lognormal: right-skewed
    assert abs((bank["currency"] == "USD").mean() - 0.7) < 0.02
    loans = generate(load_template("loans"), 5_000, seed=1)["loans"]
    assert loans[["credit_score", "interest_rate"]].corr().iloc[0, 1] < -0.8
    assert loans.groupby("risk_grade")["credit_score"].mean().is_monotonic_increasing is False
    assert loans.groupby("risk_grade")["credit_score"].mean()["A"] > 760
    assert (loans["maturity_on"] > loans["issued_on"]).all()


# ----------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("ext", ["csv", "json", "jsonl", "parquet", "xlsx"])
def test_cli_writes_every_format_and_reads_back(tmp_path: Path, ext: str):
    out = tmp_path / f"loans.{ext}"
    res = CliRunner().invoke(main, ["generate", "--template", "loans", "--rows", "40",
                                    "--seed", "3", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "loans" in res.output and "100.00%" in res.output
    expected = generate(load_template("loans"), 40, seed=3)["loans"]
    back = {"csv": lambda p: pd.read_csv(p), "json": lambda p: pd.read_json(p),
            "jsonl": lambda p: pd.read_json(p, lines=True), "parquet": pd.read_parquet,
            "xlsx": pd.read_excel}[ext](out)
    assert list(back.columns) == list(expected.columns) and len(back) == 40
    assert back["loan_id"].astype(str).tolist() == expected["loan_id"].tolist()
    assert back["principal"].round(2).tolist() == expected["principal"].tolist()
    assert not list(tmp_path.glob("*.tmp*"))  # atomic: no temp files left


def test_cli_schema_file_multi_table_outputs(tmp_path: Path):
    schema = tmp_path / "s.yaml"
    schema.write_text("tables:\n  a:\n    fields:\n      id: {type: integer, sequence: true}\n"
                      "  b:\n    per_parent: {min: 2, max: 2}\n    fields:\n"
                      "      a_id: {references: a.id}\n      v: {type: float}\n")
    runner = CliRunner()
    res = runner.invoke(main, ["generate", str(schema), "--rows", "5", "--out",
                               str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "out" / "a.csv")) == 5
    assert len(pd.read_csv(tmp_path / "out" / "b.csv")) == 10
    res = runner.invoke(main, ["generate", str(schema), "--rows", "3", "--out",
                               str(tmp_path / "{table}.parquet")])
    assert res.exit_code == 0, res.output
    assert pd.read_parquet(tmp_path / "b.parquet")["a_id"].tolist() == [1, 1, 2, 2, 3, 3]
    res = runner.invoke(main, ["generate", str(schema), "--rows", "3", "--out",
                               str(tmp_path / "one.csv")])
    assert res.exit_code == 2 and "2 tables (a, b) but one output file" in res.output
    res = runner.invoke(main, ["generate", str(schema), "--rows", "3", "--table", "b",
                               "--out", str(tmp_path / "only_b.jsonl")])
    assert res.exit_code == 0 and len(pd.read_json(tmp_path / "only_b.jsonl", lines=True)) == 6
    res = runner.invoke(main, ["generate", str(schema), "--rows", "3", "--dry-run"])
    assert res.exit_code == 0 and "b: ~6 rows, 2-2 per a" in res.output
    assert not (tmp_path / "x").exists()


def test_numeric_enum_values_must_be_numbers(tmp_path: Path):
    bad = tmp_path / "e.yaml"
    bad.write_text("fields:\n  n: {type: integer, enum: [1, 2.5]}\n")
    res = CliRunner().invoke(main, ["generate", str(bad), "--dry-run"])
    assert res.exit_code == 2 and "data.n': enum value 2.5 is not an integer" in res.output


def test_cli_bad_inputs(tmp_path: Path):
    runner = CliRunner()
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  plan: {type: category, enum: [a, b], unique: true}\n"
                   "  n: {type: integer, min: 5, max: 1}\n")
    (tmp_path / "o.csv").write_text("previous\n")  # a good earlier output must survive
    res = runner.invoke(main, ["generate", str(bad), "--rows", "10", "--out",
                               str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "bad.yaml:3: field 'data.n': min 5 is greater" in res.output
    bad.write_text("fields:\n  plan: {type: category, enum: [a, b], unique: true}\n")
    res = runner.invoke(main, ["generate", str(bad), "--rows", "10", "--out",
                               str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "data.plan: unique with 10 rows but only 2" in res.output
    assert (tmp_path / "o.csv").read_text() == "previous\n"
    res = runner.invoke(main, ["generate", "--template", "loan", "--rows", "1", "--out", "x.csv"])
    assert res.exit_code == 2 and "Did you mean 'loans'" in res.output
    res = runner.invoke(main, ["generate", "--template", "loans", "--rows", "2_000_000",
                               "--out", str(tmp_path / "big.xlsx"), "--dry-run"])
    assert res.exit_code == 0  # dry run: nothing generated
    res = runner.invoke(main, ["generate", "--template", "loans", "--rows", "10",
                               "--out", str(tmp_path / "o.txt")])
    assert res.exit_code == 2 and "cannot tell the output format" in res.output


def test_cli_templates_and_print():
    runner = CliRunner()
    res = runner.invoke(main, ["templates", "--json"])
    assert res.exit_code == 0
    listed = json.loads(res.output)
    assert {t["name"] for t in listed} == set(TEMPLATES)
    assert all(t["description"] and t["industry"] for t in listed)
    res = runner.invoke(main, ["generate", "--template", "portfolios", "--print"])
    assert res.exit_code == 0 and res.output.startswith("name: portfolios")
    assert "market_value" in res.output


def test_cli_llm_dry_run_prints_the_estimate(monkeypatch: pytest.MonkeyPatch):
    from datasetgen_assets.commands import profile
    from datasetgen_assets.synth import llm_generator

    seen = {}

    def fake_estimate(client, *, row_schema, instruction, rows, **kw):
        seen.update(client=client, schema=row_schema, instruction=instruction, rows=rows)
        return {"calls": 3, "cost_usd": 0.01}

    monkeypatch.setattr(profile, "_llm_client", lambda: "CLIENT")
    monkeypatch.setattr(llm_generator, "estimate_llm_generation", fake_estimate)
    res = CliRunner().invoke(main, ["generate", "--template", "loans", "--rows", "50",
                                    "--generator", "llm", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {"calls": 3, "cost_usd": 0.01}
    assert seen["client"] == "CLIENT" and seen["rows"] == 50
    assert seen["schema"]["properties"]["term_months"]["enum"] == [12, 24, 36, 48, 60]
    res = CliRunner().invoke(main, ["generate", "--template", "ecommerce", "--rows", "5",
                                    "--generator", "llm", "--dry-run"])
    assert res.exit_code == 2 and "one table at a time" in res.output


# ----------------------------------------------------------------------------- the step


def test_step_materializes_tables_that_join_on_their_keys(project: Path):
    (project / "shop.yaml").write_text(
        "tables:\n  c:\n    fields:\n      id: {type: integer, sequence: true}\n"
        "      name: {type: name}\n  o:\n    per_parent: {min: 1, max: 3}\n    fields:\n"
        "      oid: {type: uuid, unique: true}\n      cid: {references: c.id}\n"
        "      start: {type: date, min: 2024-01-01, max: 2024-01-31}\n"
        "      end: {type: date, max: 2024-02-05}\n"
        "    rules:\n      - after: {field: end, other: start, max_gap: 10d}\n")
    (project / "pipelines" / "syn.yaml").write_text("""
name: syn
steps:
  - {id: c, type: synthetic, config: {schema: shop.yaml, table: c, rows: 25, seed: 9}}
  - {id: o, type: synthetic, config: {schema: shop.yaml, table: o, rows: 25, seed: 9,
                                      min_adherence: 50}}
  - {id: loans, type: synthetic, config: {template: loans, rows: 30}}
  - {id: j, type: join, depends_on: [o, c], config: {left_on: [cid], right_on: [id]}}
  - {id: out, type: write, depends_on: [j], config: {path: out/j.csv}}
  - {id: strict, type: synthetic, config: {schema: shop.yaml, table: o, rows: 25, seed: 9}}
  - {id: after_strict, type: select, depends_on: [strict], config: {columns: [oid]}}
""")
    pipeline = load_pipeline(project / "pipelines" / "syn.yaml")
    assert pipeline.columns["o"] == ["oid", "cid", "start", "end"]  # known before running
    result = dg.materialize(build_pipeline(pipeline)["assets"],
                            resources=datasetgen_resources(str(project / "assets")),
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    joined = pd.read_csv(project / "out" / "j.csv")
    orders = generate(load_pipeline_schema(project), 25, seed=9)["o"]
    assert len(joined) == len(orders)  # every order finds its customer
    checks = {(c.asset_key.path[-1], c.check_name): c for c in
              result.get_asset_check_evaluations()}
    assert checks[("c", "constraints")].passed and checks[("loans", "constraints")].passed
    # `end` has its own max that the 10-day gap can break: adherence < 100
    o_check = checks[("o", "constraints")]
    assert o_check.passed and o_check.metadata["adherence"].value < 100
    strict = checks[("strict", "constraints")]
    assert not strict.passed and "end.range" in strict.description
    assert strict.metadata["sample_violations"].data
    mats = {e.asset_key.path[-1]: e.event_specific_data.materialization.metadata
            for e in result.get_asset_materialization_events()}
    assert "after_strict" not in mats  # the blocking check stopped downstream
    assert "constraint adherence" in mats["loans"]["synthetic"].value
    assert mats["loans"]["report"].value["adherence"]["overall"] == 100.0
    assert mats["loans"]["dagster/row_count"].value == 30
    assert "•••• (PII)" in mats["loans"]["preview"].value  # borrower names masked


def load_pipeline_schema(project: Path):
    from datasetgen_assets.synth.schema import load_schema

    return load_schema(project / "shop.yaml")


def test_step_config_errors_are_located(project: Path):
    from datasetgen_assets.errors import PipelineValidationError

    (project / "bad.yaml").write_text("fields:\n  a: {type: integer, min: 3, max: 1}\n")
    (project / "pipelines" / "bad.yaml").write_text("""
name: bad
steps:
  - {id: both, type: synthetic, config: {template: loans, schema: x.yaml}}
  - {id: tmpl, type: synthetic, config: {template: loan}}
  - {id: inline, type: synthetic, config: {schema: {fields: {a: {type: category}}}}}
""")
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline(project / "pipelines" / "bad.yaml")
    text = str(info.value)
    assert "step 'both'" in text and "exactly one of 'schema'" in text
    assert "step 'tmpl'" in text and "Did you mean 'loans'" in text
    assert "step 'inline'" in text and "data.a" in text and "needs its values" in text
    # schema files and tables are checked with the columns, once the configs are valid
    (project / "pipelines" / "bad.yaml").write_text("""
name: bad
steps:
  - {id: file, type: synthetic, config: {schema: bad.yaml}}
  - {id: tbl, type: synthetic, config: {template: ecommerce, table: custmers}}
""")
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline(project / "pipelines" / "bad.yaml")
    text = str(info.value)
    assert "step 'file'" in text and "bad.yaml:2: field 'data.a': min 3 is greater" in text
    assert "step 'tbl'" in text and "Did you mean 'customers'" in text


def test_step_llm_generator_is_wired_to_the_llm_engine(monkeypatch: pytest.MonkeyPatch):
    from datasetgen_assets.synth import llm_generator

    st = get_step_type("synthetic")
    config = st.config_model(template="loans", rows=3, seed=5, generator="llm",
                             instruction="UK mortgages", min_adherence=0)
    assert st.needs_llm(config) and not st.needs_llm(st.config_model(template="loans"))
    seen = {}
    good = generate(load_template("loans"), 3, seed=1)["loans"]

    def fake(client, *, row_schema, instruction, rows, validate, unique, seed, **kw):
        seen.update(client=client, schema=row_schema, instruction=instruction, rows=rows,
                    unique=unique, seed=seed, problems=validate(good.assign(credit_score=900)))
        return good, {"calls": 1}

    monkeypatch.setattr(llm_generator, "generate_with_llm", fake)
    result = st.run([], config, StepContext(step_id="gen", llm="CLIENT"))
    assert seen["client"] == "CLIENT" and seen["rows"] == 3 and seen["seed"] == 5
    assert seen["instruction"] == "UK mortgages" and seen["unique"] == ["loan_id"]
    assert seen["schema"]["properties"]["credit_score"]["maximum"] == 850
    assert any("credit_score: 900 is outside 300..850" in p for p in seen["problems"][0])
    assert result.report["llm"] == {"calls": 1} and result.report["generator"] == "llm"
    assert result.checks[0].passed
    from datasetgen_assets.errors import StepInputError

    with pytest.raises(StepInputError, match="no LLM resource"):
        st.run([], config, StepContext(step_id="gen"))
    # `explain` / `llm estimate`: the engine's estimate for the expected rows
    monkeypatch.setattr(llm_generator, "estimate_llm_generation",
                        lambda client, **kw: {"calls": 2, "rows": kw["rows"],
                                              "schema": kw["row_schema"]["title"]})
    est = st.llm_estimate(config, 7, "CLIENT")
    assert est == {"calls": 2, "requests": 2, "rows": 7, "schema": "loans"}


def test_step_llm_generator_end_to_end_on_the_emulator(llm_emulator, monkeypatch):
    """The real LLM engine through the emulator: rows breaking a cross-field rule (which the
    JSON schema cannot express) are caught by `violations` and regenerated."""
    import itertools

    from datasetgen_resources.llm import emulator as emulator_module
    from tests.fixtures.llm import emulator_client, emulator_spec

    schema = load_template("loans")
    sample = generate(schema, 300, seed=2)["loans"]
    for col in ("issued_on", "maturity_on"):
        sample[col] = sample[col].dt.strftime("%Y-%m-%d")
    pool = json.loads(sample.to_json(orient="records"))
    counter, calls = itertools.count(), itertools.count()

    def answer(row: dict, out_schema: dict) -> dict:
        k = out_schema["properties"]["rows"]["minItems"]
        items = [dict(pool[next(counter) % len(pool)]) for _ in range(k)]
        if next(calls) % 3 == 0:  # every third batch: a grade that breaks the bins rule
            items[0]["risk_grade"] = "E" if items[0]["risk_grade"] == "A" else "A"
        return {"rows": items}

    monkeypatch.setattr(emulator_module, "emulated_answer", answer)
    st = get_step_type("synthetic")
    config = st.config_model(template="loans", rows=12, generator="llm", seed=4)
    client = emulator_client([emulator_spec(llm_emulator)])
    result = st.run([], config, StepContext(step_id="gen", llm=client))
    assert len(result.frame) == 12 and result.checks[0].passed
    assert result.report["adherence"]["overall"] == 100.0
    llm = result.report["llm"]
    assert llm["invalid"] >= 1 and any("risk_grade" in v for v in llm["sample_violations"])
    assert result.frame["loan_id"].is_unique
