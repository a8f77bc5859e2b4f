"""Augmentation of uploads: formats, distributions, relationships, nulls, privacy, outputs,
the `augment` step with its blocking check, the CLI and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import ks_2samp

from datasetgen_assets.cli import main
from datasetgen_assets.errors import StepInputError
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_assets.synth.augment import FLAG, augment
from datasetgen_assets.synth.model import fit
from datasetgen_resources import datasetgen_resources

N = 400


def upload(n: int = N, seed: int = 0) -> pd.DataFrame:
    """A realistic upload: ids, PII, formatted dates and money, correlated numbers, a
    categorical that drives another, nulls."""
    r = np.random.default_rng(seed)
    x = r.normal(50, 10, n)
    region = r.choice(["NORTH", "SOUTH", "EAST"], n, p=[0.5, 0.3, 0.2])
    tier = np.where(region == "NORTH", r.choice(["gold", "silver"], n, p=[0.9, 0.1]),
                    r.choice(["gold", "silver"], n, p=[0.1, 0.9]))
    score = r.normal(0, 1, n).round(3)
    score[r.random(n) < 0.2] = np.nan
    return pd.DataFrame({
        "customer_id": np.arange(1001, 1001 + n),
        "order_ref": [f"ORD-{i:05d}" for i in range(n)],
        "full_name": [["Ada Byron", "Alan Turing", "Grace Hopper"][i % 3] for i in range(n)],
        "email": [f"user{i}@example.com" for i in range(n)],
        "phone": [f"+1 555 {i % 1000:03d} {i * 7 % 10000:04d}" for i in range(n)],
        "order_date": (pd.Timestamp("2024-01-01") + pd.to_timedelta(r.integers(0, 365, n),
                                                                    unit="D")
                       ).strftime("%d/%m/%Y"),
        "amount": [f"${v:,.2f}" for v in x * 20],
        "x": x.round(2),
        "y": (2 * x + r.normal(0, 5, n)).round(2),
        "quantity": r.integers(1, 10, n),
        "region": region,
        "tier": tier,
        "score": score,
        "active": r.random(n) < 0.3,
    })


@pytest.fixture(scope="module")
def augmented():
    real = upload()
    return real, augment(real, rows=600, seed=3)


def test_formats_are_preserved(augmented):
    real, res = augmented
    syn = res.synthetic
    assert syn["order_date"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    pd.to_datetime(syn["order_date"], format="%d/%m/%Y")  # parses in the real format
    assert syn["amount"].str.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d{2}").all()
    assert (syn["x"].dropna().round(2) == syn["x"].dropna()).all()
    assert syn["quantity"].dtype == real["quantity"].dtype  # integers stay integers
    assert set(syn["region"]) <= {"NORTH", "SOUTH", "EAST"}  # casing kept
    assert syn["full_name"].map(str.istitle).all()
    assert syn["active"].dtype == bool
    assert list(syn.columns) == list(real.columns)


def test_marginals_correlation_contingency_and_nulls_are_kept(augmented):
    real, res = augmented
    syn = res.synthetic
    for col in ("x", "y", "quantity"):
        assert ks_2samp(real[col], syn[col]).statistic < 0.1, col
    r_corr = np.corrcoef(real["x"], real["y"])[0, 1]
    s_corr = np.corrcoef(syn["x"], syn["y"])[0, 1]
    assert abs(r_corr - s_corr) < 0.1
    share = lambda df: (df.loc[df["region"] == "NORTH", "tier"] == "gold").mean()  # noqa: E731
    assert share(syn) > 0.75 and (syn.loc[syn["region"] != "NORTH", "tier"] == "gold").mean() < 0.25
    assert abs(syn["score"].isna().mean() - real["score"].isna().mean()) < 0.06
    assert res.report["quality_score"] >= 0.85


def test_ids_and_pii_are_fresh_in_the_real_format(augmented):
    real, res = augmented
    syn = res.synthetic
    assert syn["customer_id"].min() > real["customer_id"].max() and syn["customer_id"].is_unique
    assert syn["order_ref"].str.fullmatch(r"ORD-\d{5}").all()
    assert not set(syn["order_ref"]) & set(real["order_ref"])
    assert not set(syn["email"]) & set(real["email"])
    assert syn["email"].str.fullmatch(r"[^@\s]+@example\.com").all()
    assert not set(syn["full_name"]) & set(real["full_name"])
    assert syn["phone"].str.fullmatch(r"\+1 \d{3} \d{3} \d{4}").all()
    assert not set(syn["phone"]) & set(real["phone"])
    assert set(res.report["pii_columns"]) >= {"full_name", "email"}


def test_report_has_scores_privacy_and_no_exact_copies(augmented):
    _, res = augmented
    rep = res.report
    assert rep["exact_copies"] == 0
    assert 0.3 < rep["privacy"]["closer_to_training"] < 0.75
    assert rep["holdout_rows"] == 80 and rep["train_rows"] == 320
    assert {s["column"] for s in rep["column_scores"]} >= {"x", "region", "order_date"}
    assert "quality score" in rep["markdown"] and rep["model"] == "cart"
    json.dumps(rep)  # JSON-able


def test_merged_output_flags_rows_and_synthetic_only_has_no_real_rows(augmented):
    real, res = augmented
    assert len(res.frame) == len(real) + 600
    assert res.frame[FLAG].dtype == bool
    assert not res.frame[FLAG].iloc[: len(real)].any() and res.frame[FLAG].iloc[len(real):].all()
    pd.testing.assert_frame_equal(res.frame.iloc[: len(real)].drop(columns=FLAG), real,
                                  check_dtype=False)
    only = augment(real, rows=50, seed=1, output="synthetic")
    assert len(only.frame) == 50 and list(only.frame.columns) == list(real.columns)


def test_same_seed_same_rows_other_seed_other_rows():
    real = upload(60)
    a = augment(real, rows=20, seed=5).synthetic
    b = augment(real, rows=20, seed=5).synthetic
    pd.testing.assert_frame_equal(a, b)
    frame = real[["x", "region"]]
    model = fit(frame, {"x": "numeric", "region": "categorical"}, seed=1)
    pd.testing.assert_frame_equal(model.sample(30, seed=2), model.sample(30, seed=2))
    assert not model.sample(30, seed=2).equals(model.sample(30, seed=3))


def test_repeating_codes_and_references_keep_their_real_values():
    """Product codes and customer numbers that repeat refer to other tables: synthetic rows
    take their real values (joins keep working) instead of fresh ones."""
    src = pd.read_csv(Path(__file__).resolve().parent.parent / "examples" / "uploads" /
                      "orders_2024_06.csv")
    res = augment(src, rows=60, seed=1)
    syn = res.synthetic
    assert set(syn["product_id"]) <= set(src["product_id"])
    assert syn["product_id"].str.fullmatch(r"P\d{3}").all()
    assert not set(syn["order_id"]) & set(src["order_id"])  # the unique key is fresh


def test_no_exact_copies_even_on_a_tiny_low_cardinality_table():
    real = pd.DataFrame({"a": list("xxyyzzxxyyzz"), "b": list("ppqqppqqrrpp")})
    res = augment(real, rows=30, seed=0, holdout=0)
    combos = set(zip(real["a"], real["b"], strict=True))
    assert not any(row in combos for row in zip(res.synthetic["a"], res.synthetic["b"],
                                                strict=True))
    assert res.report["exact_copies"] == 0


def test_every_combination_taken_is_a_clear_error():
    real = pd.DataFrame({"a": list("xy" * 6), "b": list("pq" * 3 + "qp" * 3)})
    with pytest.raises(StepInputError, match=r"columns a, b: .*too few distinct combinations"):
        augment(real, rows=5, holdout=0)
    allowed = augment(real, rows=5, holdout=0, max_exact_copies=5)
    assert allowed.report["exact_copies"] == 5


def test_both_models_fit_mixed_types_with_nulls():
    frame = pd.DataFrame({"n": [1.0, 2.0, np.nan, 4.0] * 10, "c": ["a", None, "b", "a"] * 10})
    for method in ("cart", "copula"):
        model = fit(frame, {"n": "numeric", "c": "categorical"}, method=method, seed=1)
        out = model.sample(400, seed=2)
        assert 0.15 < out["n"].isna().mean() < 0.35, method
        assert 0.15 < out["c"].isna().mean() < 0.35, method
        assert set(out["c"].dropna()) <= {"a", "b"}
        assert out["n"].dropna().between(1, 4).all()


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"a": [1]}), r"input has 1 row; augmentation needs at least 10"),
    (pd.DataFrame({"a": []}), r"input is empty"),
    (pd.DataFrame({"a": [None] * 12, "b": [None] * 12}), r"every column is empty.*a, b"),
])
def test_bad_uploads_are_clear_errors(frame, message):
    with pytest.raises(StepInputError, match=message):
        augment(frame, rows=5)


def test_zero_rows_is_an_error_and_all_null_column_is_named_and_kept_null():
    real = upload(60).assign(notes=None)
    with pytest.raises(StepInputError, match="'rows' must be at least 1"):
        augment(real, rows=0)
    res = augment(real, rows=20)
    assert res.synthetic["notes"].isna().all()
    assert any("'notes' is empty (all nulls)" in w for w in res.report["warnings"])


# --- the step, materialized in process --------------------------------------------------------

def _pipeline(tmp_path: Path, config: str) -> dg.ExecuteInProcessResult:
    upload(100).to_csv(tmp_path / "up.csv", index=False)
    (tmp_path / "p.yaml").write_text(f"""
name: aug
steps:
  - {{id: src, type: csv, config: {{path: {tmp_path}/up.csv}}}}
  - {{id: more, type: augment, depends_on: [src], config: {config}}}
  - {{id: out, type: write, depends_on: [more], config: {{path: {tmp_path}/out.csv}}}}
""")
    built = build_pipeline(load_pipeline(tmp_path / "p.yaml"))
    return dg.materialize(built["assets"], resources=datasetgen_resources(str(tmp_path / "a")),
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def test_step_materializes_with_report_metadata_and_passing_check(tmp_path):
    result = _pipeline(tmp_path, "{rows: 100, seed: 1}")
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "fidelity" and check.passed
    mats = {e.asset_key.path[-1]: e for e in result.get_asset_materialization_events()}
    meta = mats["more"].materialization.metadata
    assert meta["dagster/row_count"].value == 200
    out = pd.read_csv(tmp_path / "out.csv")
    assert out[FLAG].sum() == 100
    assert "email" not in str(meta.get("preview", "")) or "user0@" not in str(meta["preview"])


def test_blocking_fidelity_check_fails_on_strict_thresholds(tmp_path):
    (tmp_path / "out.csv").write_text("previous\n")
    result = _pipeline(tmp_path, "{rows: 50, min_quality: 0.999, max_dcr_closer_share: 0.01}")
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert not check.passed
    assert "min_quality 0.999" in check.description
    assert "max_dcr_closer_share" in check.description
    assert (tmp_path / "out.csv").read_text() == "previous\n"


def test_step_config_and_columns_are_validated(tmp_path):
    from datasetgen_assets.errors import PipelineValidationError

    (tmp_path / "up.csv").write_text("a,b\n1,2\n")
    (tmp_path / "p.yaml").write_text(f"""
name: aug
steps:
  - {{id: src, type: csv, config: {{path: {tmp_path}/up.csv}}}}
  - {{id: more, type: augment, depends_on: [src], config: {{output: merged}}}}
""")
    with pytest.raises(PipelineValidationError, match="rows"):
        load_pipeline(tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text(f"""
name: aug
steps:
  - {{id: src, type: csv, config: {{path: {tmp_path}/up.csv}}}}
  - {{id: more, type: augment, depends_on: [src], config: {{ratio: 2}}}}
  - {{id: s, type: select, depends_on: [more], config: {{columns: [a, {FLAG}]}}}}
""")
    load_pipeline(tmp_path / "p.yaml")  # `_synthetic` is a known column downstream


# --- the CLI ----------------------------------------------------------------------------------

def test_cli_writes_merged_or_synthetic_only_and_a_report(tmp_path):
    src = tmp_path / "up.csv"
    upload(80).to_csv(src, index=False)
    runner = CliRunner()
    out = tmp_path / "out.parquet"
    res = runner.invoke(main, ["augment", str(src), "--rows", "80", "--out", str(out),
                               "--report", str(tmp_path / "r.json"), "--seed", "2"])
    assert res.exit_code == 0, res.output
    assert re.search(r"quality 0\.\d{3}", res.output) and "0 exact copies" in res.output
    df = pd.read_parquet(out)
    assert len(df) == 160 and df[FLAG].sum() == 80
    assert json.loads((tmp_path / "r.json").read_text())["synthetic_rows"] == 80
    res = runner.invoke(main, ["augment", str(src), "--rows", "30", "--out",
                               str(tmp_path / "o.jsonl"), "--synthetic-only", "--quiet"])
    assert res.exit_code == 0, res.output
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 30


@pytest.mark.parametrize("setup, args, message", [
    ("a\n1\n", ["--rows", "5"], "has 1 row"),
    ("", ["--rows", "5"], "is empty"),
    ("a\n1\n", ["--rows", "0"], "--rows"),
])
def test_cli_bad_input(tmp_path, setup, args, message):
    src = tmp_path / "up.csv"
    src.write_text(setup)
    res = CliRunner().invoke(main, ["augment", str(src), *args, "--out",
                                    str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and message in res.output
    assert "up.csv" in res.output or "--rows" in res.output
    assert not (tmp_path / "o.csv").exists()


def test_cli_unsupported_file_type(tmp_path):
    src = tmp_path / "up.pdf"
    src.write_bytes(b"%PDF-1.4")
    res = CliRunner().invoke(main, ["augment", str(src), "--rows", "5", "--out",
                                    str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "up.pdf" in res.output and "unsupported file type" in res.output


def test_cli_reads_excel_uploads(tmp_path):
    src = tmp_path / "up.xlsx"
    upload(40).to_excel(src, index=False)
    out = tmp_path / "o.csv"
    res = CliRunner().invoke(main, ["augment", str(src), "--rows", "10", "--out", str(out),
                                    "--synthetic-only", "--quiet"])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert len(df) == 10 and df["order_date"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
