"""quality_validation: the rule families, severities, the score, GE rules and asset checks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from datasetgen_assets.errors import PipelineValidationError
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_assets.quality.issues import Issue, quality_score
from datasetgen_assets.steps.quality_validation import QualityConfig, run
from datasetgen_assets.steps.registry import StepContext
from datasetgen_resources import datasetgen_resources

EMAIL = "jane.doe@example.com"


def assess(df: pd.DataFrame, cfg: dict, **ctx_kw) -> tuple[dict, dict]:
    cfg = {"data_docs": False, **cfg}  # tests that want Data Docs ask for them in tmp
    result = run([df], QualityConfig.model_validate(cfg), StepContext(**ctx_kw))
    return result.report, {c.name: c for c in result.checks}


def issues(report: dict, family: str) -> list[dict]:
    return [i for i in report["issues"] if i["family"] == family]


def test_score_formula_worked_example():
    # 1,000 rows x 5 columns = 5,000 cells; 20 missing (medium), 3 PII (critical),
    # 10 range violations (high): 20*0.4 + 3*1.0 + 10*0.7 = 18 -> 100 * (1 - 18/5000)
    found = [Issue("missing_values", "missing", "medium", 20),
             Issue("pii_exposure", "pii", "critical", 3),
             Issue("invalid_values", "range", "high", 10)]
    assert quality_score(found, 1000, 5) == 99.64
    assert quality_score([Issue("x", "y", "critical", 10**9)], 10, 2) == 0.0
    assert quality_score([], 0, 0) == 100.0


def test_legacy_config_keeps_its_checks_only():
    cfg = QualityConfig.model_validate({"unique": ["id"], "min_rows": 1})
    from datasetgen_assets.steps.quality_validation import _checks

    assert [c[0] for c in _checks(cfg)] == ["unique", "min_rows"]
    scored = QualityConfig.model_validate({"min_quality_score": 90})
    names = [c[0] for c in _checks(scored)]
    assert names[0] == "min_quality_score" and "semantic_issues" not in names
    assert len(names) == 10  # the score + nine families (semantic only with deep_analysis)


def test_missing_duplicates_and_types():
    df = pd.DataFrame({"id": [1, 2, 2, 4, 4], "name": ["Ann", " ", "Bob", None, None],
                       "mixed": pd.Series([1, "a", 2, 3, 3], dtype=object),
                       "amount": ["1", "n/a", "3", "4", "4"]})
    report, checks = assess(df, {"checks": {"duplicates": {"key": ["id"]}}})
    missing = {i["column"]: i["count"] for i in issues(report, "missing_values")}
    assert missing == {"name": 3}  # null, NaN and blank strings
    dup = {i["check"]: i["count"] for i in issues(report, "duplicates")}
    assert dup == {"full_row": 1, "key": 1}
    types = {i["column"]: (i["check"], i["count"]) for i in issues(report, "type_consistency")}
    assert types == {"mixed": ("mixed_types", 1), "amount": ("not_numeric", 1)}
    assert not checks["duplicates"].passed and checks["duplicates"].metadata["failing_count"] == 2


def test_fuzzy_duplicates_use_the_threshold():
    df = pd.DataFrame({"name": ["Jonathan Smith", "Jonathon Smith", "Maria Lopez", "Zed Q"]})
    report, _ = assess(df, {"checks": {"duplicates": {"fuzzy_columns": ["name"],
                                                      "fuzzy_threshold": 90}}})
    assert [i["count"] for i in issues(report, "duplicates")] == [1]
    report, _ = assess(df, {"checks": {"duplicates": {"fuzzy_columns": ["name"],
                                                      "fuzzy_threshold": 99}}})
    assert issues(report, "duplicates") == []


@pytest.mark.parametrize("method", ["zscore", "iqr", "isolation_forest"])
def test_outliers(method):
    rng = np.random.default_rng(1)
    x = rng.normal(50, 5, 500)
    x[7] = 500.0
    df = pd.DataFrame({"x": x, "y": rng.normal(0, 1, 500)})
    cfg = {"checks": {"outliers": {"method": method, "columns": ["x"]}}}
    if method == "isolation_forest":
        cfg["checks"]["outliers"]["contamination"] = 0.01
    report, _ = assess(df, cfg)
    [found] = issues(report, "outliers")
    assert found["severity"] == "low" and 1 <= found["count"] <= 10
    assert {"row": 7} in found["examples"] or any(e["row"] == 7 for e in found["examples"])


def test_format_inconsistency_dates_phones_case():
    df = pd.DataFrame({"order_date": ["2024-01-01", "2024-02-03", "03/04/2024", "2024-05-06"],
                       "phone": ["+1 212 555 0100", "+1 212 555 0101", "(212) 555-0102",
                                 "+1 212 555 0103"],
                       "status": ["paid", "paid", "Paid", "shipped"]})
    report, _ = assess(df, {"checks": {"pii_exposure": False}})
    got = {i["check"]: (i["column"], i["count"]) for i in issues(report, "format_inconsistency")}
    assert got == {"date_format": ("order_date", 1), "phone_format": ("phone", 1),
                   "case": ("status", 1)}


def test_pii_exposure_is_critical_and_examples_are_masked():
    df = pd.DataFrame({"contact": [EMAIL, "none", "call 212-555-0199"], "note": ["a", "b", "c"]})
    report, checks = assess(df, {"checks": {"pii_exposure": {}}})
    [found] = issues(report, "pii_exposure")
    assert found["severity"] == "critical" and found["count"] == 2
    assert report["pii_columns"] == ["contact"]
    assert EMAIL not in str(report) and EMAIL not in str(checks["pii_exposure"].metadata)
    report, _ = assess(df, {"checks": {"pii_exposure": {"allow": ["contact"]}}})
    assert issues(report, "pii_exposure") == []


def test_rules_run_through_great_expectations_with_examples_masked(tmp_path):
    df = pd.DataFrame({"id": [1, 2, 3, 3], "age": [10, 200, None, 40],
                       "email": [EMAIL, "bad", "x@y.org", "also bad"],
                       "status": ["paid", "paid", "lost", "paid"],
                       "start": [1, 5, 1, 1], "end": [2, 4, None, 3]})
    cfg = {"business_rules": [
        {"type": "range", "column": "age", "min": 0, "max": 150},
        {"type": "regex", "column": "email", "pattern": r"^\S+@\S+$", "severity": "medium"},
        {"type": "enum", "column": "status", "values": ["paid", "shipped"]},
        {"type": "unique", "column": "id"},
        {"type": "not_null", "column": "age", "severity": "critical"},
        {"type": "condition", "condition": "end >= start", "name": "ends_after_start"}],
        "data_docs": True, "data_docs_dir": str(tmp_path), "min_quality_score": 99}
    report, checks = assess(df, cfg, base_dir=tmp_path, pipeline="p", step_id="q")
    got = {i["check"]: (i["severity"], i["count"]) for i in issues(report, "business_rules")}
    assert got == {"range:age": ("high", 1), "regex:email": ("medium", 2),
                   "enum:status": ("high", 1), "unique:id": ("high", 2),
                   "not_null:age": ("critical", 1),
                   "ends_after_start": ("high", 1)}  # a null end is unknown, not a violation
    assert report["ge_statistics"]["evaluated_expectations"] == 5
    html = Path(report["data_docs"]).read_text()
    assert "expect_column_values_to_match_regex" in html or "match" in html
    assert EMAIL not in html and EMAIL not in str(report)  # email is a PII column
    gate = checks["min_quality_score"]
    assert not gate.passed and gate.blocking and gate.metadata["score"] == report["score"]
    assert not checks["business_rules"].blocking


def test_invalid_values_and_mixed_types_are_reported_not_crashed():
    df = pd.DataFrame({"qty": ["1", "2", "many", "-3"], "kind": ["a", "b", "c", "a"],
                       "lo": [1, 2, 3, 4], "hi": [2, 1, 4, 5]})
    cfg = {"checks": {"invalid_values": {"ranges": {"qty": {"min": 0}},
                                         "enums": {"kind": ["a", "b"]},
                                         "logical": ["hi > lo"]}}}
    report, checks = assess(df, cfg)
    got = {i["check"]: i["count"] for i in issues(report, "invalid_values")}
    assert got == {"range:qty": 2, "enum:kind": 1, "condition:hi,lo": 1}
    assert not checks["invalid_values"].passed


def valid_rows(df: pd.DataFrame) -> pd.Series:
    return df["a"] % 2 == 0


def test_custom_python_rule(monkeypatch):
    monkeypatch.setenv("DATASETGEN_CUSTOM_PYTHON_MODULES", "tests")
    df = pd.DataFrame({"a": [1, 2, 3, 4]})
    report, _ = assess(df, {"business_rules": [{"type": "custom",
                                                "function": "tests.test_quality:valid_rows"}]})
    assert [i["count"] for i in issues(report, "business_rules")] == [2]


def test_distribution_shift_against_the_previous_materialization():
    rng = np.random.default_rng(0)
    prev = pd.DataFrame({"x": rng.normal(0, 1, 2000), "c": ["a"] * 1000 + ["b"] * 1000})
    same = pd.DataFrame({"x": rng.normal(0, 1, 2000), "c": ["a"] * 1000 + ["b"] * 1000})
    moved = pd.DataFrame({"x": rng.normal(3, 1, 2000), "c": ["a"] * 1900 + ["b"] * 100})
    report, checks = assess(same, {"checks": {}}, previous=prev)
    assert issues(report, "statistical_anomalies") == []
    report, checks = assess(moved, {"checks": {}}, previous=prev)
    got = {i["column"]: i["count"] for i in issues(report, "statistical_anomalies")}
    assert set(got) == {"x", "c"} and got["c"] == 900  # TV distance 0.45 x 2000 rows
    assert checks["statistical_anomalies"].metadata["distribution_shift"]["compared"]
    report, checks = assess(moved, {"checks": {}})
    assert checks["statistical_anomalies"].passed
    assert checks["statistical_anomalies"].metadata["distribution_shift"]["compared"] is False


class FakeLLM:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def structured(self, rows, instruction, output_schema, *, tier="cheap", step=""):
        self.rows = rows
        results = [{"has_issue": r["age"] is not None and r["age"] > 120, "issue": "too old"}
                   for r in rows]
        results[0] = {"_error": "timeout"}
        return SimpleNamespace(results=results, usage={"input_tokens": 10})


def test_deep_analysis_uses_the_llm_with_pii_masked():
    df = pd.DataFrame({"age": [30, 130, 140, 20], "email": [EMAIL, "a@b.co", "c@d.io", "e@f.eu"]})
    llm = FakeLLM()
    _, checks = assess(df, {"deep_analysis": True,
                            "checks": {"semantic_issues": {"sample_rows": 4}}}, llm=llm)
    assert EMAIL not in str(llm.rows) and len(llm.rows) == 4
    meta = checks["semantic_issues"].metadata
    assert meta["semantic"]["errors"] == 1 and meta["semantic"]["usage"] == {"input_tokens": 10}
    flagged = sum(1 for r in llm.rows[1:] if r["age"] > 120)
    assert meta["failing_count"] == flagged
    _, checks = assess(df, {"deep_analysis": True})  # no LLM resource: reported, not failed
    assert checks["semantic_issues"].passed
    assert checks["semantic_issues"].metadata["semantic"]["ran"] is False


@pytest.mark.parametrize("cfg, field", [
    ({"business_rules": [{"type": "regex", "column": "a", "pattern": "(["}]}, "pattern"),
    ({"business_rules": [{"type": "range", "column": "a", "min": 5, "max": 1}]}, "min 5.0 > max"),
    ({"min_quality_score": 120}, "min_quality_score"),
    ({"checks": {"duplicates": {"fuzzy_threshold": 150}}}, "fuzzy_threshold"),
    ({"checks": {"outliers": {"contamination": 0.9}}}, "contamination"),
    ({"checks": {"invalid_values": {"logical": ["a >> 1"]}}}, "logical"),
    ({"blocking_families": ["nope"]}, "blocking_families"),
])
def test_bad_config_fails_at_validate_time(cfg, field):
    with pytest.raises(ValidationError) as info:
        QualityConfig.model_validate(cfg)
    assert field in str(info.value)


def test_unknown_rule_column_is_a_validate_error(tmp_path):
    (tmp_path / "d.csv").write_text("id,age\n1,3\n")
    (tmp_path / "p.yaml").write_text(f"""
name: q
steps:
  - {{id: src, type: csv, config: {{path: {tmp_path}/d.csv}}}}
  - id: gate
    type: quality_validation
    depends_on: [src]
    config:
      business_rules: [{{type: range, column: agee, min: 0}}]
""")
    with pytest.raises(PipelineValidationError) as info:
        load_pipeline(tmp_path / "p.yaml")
    assert "agee" in str(info.value) and "business_rules[0]" in str(info.value)


def test_quality_gate_as_dagster_asset_checks(tmp_path):
    rows = "\n".join(f"{i},{i % 50},user{i}@mail.com" for i in range(40))
    (tmp_path / "d.csv").write_text("id,age,email\n" + rows + "\n1,900,user1@mail.com\n")
    (tmp_path / "p.yaml").write_text(f"""
name: qgate
steps:
  - {{id: src, type: csv, config: {{path: {tmp_path}/d.csv}}}}
  - id: gate
    type: quality_validation
    depends_on: [src]
    config:
      business_rules: [{{type: range, column: age, min: 0, max: 150}}]
      min_quality_score: 95
      data_docs_dir: {tmp_path}/docs
  - {{id: out, type: write, depends_on: [gate], config: {{path: {tmp_path}/out.csv}}}}
""")
    built = build_pipeline(load_pipeline(tmp_path / "p.yaml"))
    result = dg.materialize(built["assets"], resources=datasetgen_resources(str(tmp_path / "a")),
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success  # PII exposure (40 emails, critical) pulls the score below 95
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert {"min_quality_score", "business_rules", "pii_exposure", "duplicates"} <= set(evals)
    assert not evals["min_quality_score"].passed
    assert evals["min_quality_score"].severity == dg.AssetCheckSeverity.ERROR
    assert evals["pii_exposure"].severity == dg.AssetCheckSeverity.WARN
    assert evals["business_rules"].metadata["failing_count"].value == 1
    materialized = {e.asset_key.path[-1]: e for e in result.get_asset_materialization_events()}
    assert "out" not in materialized
    md = materialized["gate"].event_specific_data.materialization.metadata
    assert "Quality score" in md["quality_report"].value
    assert "user1@mail.com" not in md["preview"].value and "PII" in md["preview"].value
    assert Path(md["data_docs"].value).exists()


def test_mixed_type_columns_are_reported_not_crashed_on():
    df = pd.DataFrame({"m": pd.Series([1, "a", 2.5, None, [1, 2]], dtype=object),
                       "n": [1, 2, 3, 4, 5]})
    rules = [{"type": "regex", "column": "m", "pattern": "^a$"},
             {"type": "enum", "column": "m", "values": ["a"]},
             {"type": "unique", "column": "m"},
             {"type": "range", "column": "m", "min": 0},
             {"type": "condition", "condition": "m > 1"}]
    report, checks = assess(df, {"business_rules": rules, "data_docs": False})
    types = issues(report, "type_consistency")
    assert types[0]["column"] == "m" and types[0]["count"] == 3
    got = {i["check"]: i for i in issues(report, "business_rules")}
    assert "not numbers" in got["range:m"]["message"] and got["range:m"]["count"] == 2
    assert "cannot be evaluated" in got["condition:m"]["message"]
    assert not checks["business_rules"].passed and 0 <= report["score"] < 100
