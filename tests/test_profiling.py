"""Profiling: labelled semantic types, locale, dataset facts, schema round trip, coercion, LLM
descriptions, the CLI, the `profile` step and bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from datasetgen_assets.cli import main
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.metadata import table_schema
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_assets.profiling import (
    SEMANTIC_TYPES,
    DatasetProfile,
    ProfileOptions,
    coerce_to_profile,
    load_profile,
    markdown,
    profile_datasets,
    profile_frame,
    profile_url,
)
from datasetgen_assets.steps.registry import StepContext, get_step_type
from datasetgen_resources import datasetgen_resources

FIXTURES = Path(__file__).parent / "fixtures" / "profiling"
CASES = json.loads((FIXTURES / "labelled_columns.json").read_text())


def _kinds(profile: DatasetProfile, column: str | None = None) -> set[str]:
    return {i.kind for i in profile.issues if column is None or i.column == column}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_labelled_column(case: dict[str, Any]) -> None:
    profile = profile_frame(pd.DataFrame({case["name"]: case["values"]}))
    col = profile.columns[0]
    for key, want in case["expect"].items():
        if key == "ambiguity_contains":
            assert col.ambiguity and want in col.ambiguity, col.ambiguity
        elif key == "issue":
            assert want in _kinds(profile, col.name), profile.issues
        else:
            assert getattr(col, key) == want, (key, col)


def test_every_semantic_type_has_a_labelled_fixture() -> None:
    labelled = {c["expect"].get("semantic_type") for c in CASES}
    assert set(SEMANTIC_TYPES) - {"empty"} <= labelled


def test_dayfirst_option_decides_an_ambiguous_column() -> None:
    df = pd.DataFrame({"d": ["01/02/2024", "03/04/2024", "05/06/2023"]})
    assert profile_frame(df, options={"dayfirst": True}).columns[0].format == "%d/%m/%Y"
    assert profile_frame(df, options={"dayfirst": False}).columns[0].format == "%m/%d/%Y"


def test_null_tokens_are_configurable_and_counted() -> None:
    df = pd.DataFrame({"x": ["1", "N/A", "null", " - ", "", "5", "?", "unknown"]})
    default = profile_frame(df).columns[0]
    assert default.null_count == 5 and default.semantic_type != "integer"  # 'unknown' stays
    custom = profile_frame(df, options={"null_tokens": ["", "n/a", "null", "-", "?", "unknown"]})
    col = custom.columns[0]
    assert col.null_count == 6 and col.semantic_type == "integer"
    assert col.null_ratio == pytest.approx(6 / 8)


def test_messy_dataset_issues_keys_and_stats() -> None:
    df = pd.read_csv(FIXTURES / "orders_messy.csv", dtype=str, keep_default_na=False)
    p = profile_frame(df, name="orders")
    assert p.row_count == 10 and p.duplicate_rows == 1
    assert "duplicate_rows" in _kinds(p)
    assert {"casing_variants"} <= _kinds(p, "status")
    assert {"whitespace", "null_tokens"} <= _kinds(p, "note")
    assert "sentinel_values" in _kinds(p, "qty")
    assert "inconsistent_date_formats" in _kinds(p, "order_date")
    amount = p.column("amount")
    assert (amount.semantic_type, amount.decimal_separator, amount.scale) == ("decimal", ",", 2)
    assert amount.stats.min == 2.5 and amount.stats.max == 1234.5
    date = p.column("order_date")
    assert date.format == "%d/%m/%Y" and date.stats.min.startswith("2019-07-07")
    assert p.column("note").null_count == 5
    assert p.primary_keys == []  # order_id repeats (the duplicate row)
    assert p.column("country").semantic_type == "country"


def test_single_and_composite_keys() -> None:
    df = pd.DataFrame({"store": [1, 1, 2, 2, 3, 3], "day": ["a", "b", "a", "b", "a", "b"],
                       "sales": [5.5, 3.1, 2.2, 9.9, 1.0, 4.4]})
    assert profile_frame(df).primary_keys == [["store", "day"]]
    df["row_id"] = ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert profile_frame(df).primary_keys == [["row_id"]]


def test_foreign_keys_by_inclusion_and_name() -> None:
    customers = pd.read_csv(FIXTURES / "customers.csv")
    orders = pd.read_csv(FIXTURES / "orders_messy.csv", dtype=str)
    profiles = profile_datasets({"customers": customers, "orders": orders})
    [fk] = profiles["orders"].foreign_keys
    assert (fk.column, fk.references, fk.referenced_column) == ("customer_id", "customers", "id")
    assert fk.inclusion == 1.0
    assert profiles["customers"].foreign_keys == []
    # same names, values not included: no foreign key
    orders2 = orders.assign(customer_id="999")
    assert profile_datasets({"customers": customers, "o": orders2})["o"].foreign_keys == []


def test_pii_flags_and_masking() -> None:
    p = profile_frame(pd.read_csv(FIXTURES / "customers.csv", dtype=str), name="c")
    assert {c.name: c.pii for c in p.columns} == {
        "id": None, "name": "PERSON", "email": "EMAIL_ADDRESS", "phone": "PHONE_NUMBER",
        "zip": None}
    assert p.column("phone").semantic_type == "phone"
    assert p.column("zip").semantic_type == "postal_code"
    shown = json.dumps(p.model_dump(mode="json")) + markdown(p)
    assert "ann@example.com" not in shown and "Ann Smith" not in shown


def test_json_schema_round_trip(tmp_path: Path) -> None:
    df = pd.read_csv(FIXTURES / "orders_messy.csv", dtype=str, keep_default_na=False)
    p = profile_frame(df, name="orders")
    doc = json.loads(json.dumps(p.to_json_schema()))
    assert doc["$schema"].endswith("2020-12/schema") and doc["type"] == "object"
    assert doc["properties"]["status"]["x-semantic-type"] == "categorical"
    assert doc["properties"]["order_id"]["type"] == "string"
    assert "note" not in doc["required"] and "order_id" in doc["required"]
    back = DatasetProfile.from_json_schema(doc)
    assert back == p
    with pytest.raises(ValueError, match="not a DatasetGen profile"):
        DatasetProfile.from_json_schema({"type": "object"})


def test_coerce_to_profile_uses_detected_formats() -> None:
    df = pd.DataFrame({
        "eu": ["1.234,56", "12,50", "N/A", "3,00"],
        "price": ["€12,50", "€3,99", "€1.250,00", "-€0,99"],
        "pct": ["12.5%", "50%", "100%", "0%"],
        "ok": ["yes", "no", "yes", "Yes"],
        "d": ["25/12/2024", "01/02/2024", "13/01/2023", "05/05/2021"],
        "ts": ["2024-01-02T03:04:05+01:00", "2024-01-02T03:04:05Z", "2024-05-06T07:08:09Z",
               "2024-01-02T00:00:00Z"],
        "n": ["1", "2", "x", "4"] * 1,
    })
    p = profile_frame(df)
    out = coerce_to_profile(df, p)
    assert out["eu"].tolist()[:2] == [1234.56, 12.5] and pd.isna(out["eu"][2])
    assert out["price"].tolist() == [12.5, 3.99, 1250.0, -0.99]
    assert out["pct"].tolist() == [0.125, 0.5, 1.0, 0.0]
    assert str(out["ok"].dtype) == "boolean" and out["ok"].tolist() == [True, False, True, True]
    assert out["d"][0] == pd.Timestamp("2024-12-25") and out["d"][1] == pd.Timestamp("2024-02-01")
    assert str(out["ts"].dtype).endswith("UTC]") and out["ts"][0].hour == 2
    assert out.attrs["coerce_failures"] == {}
    # a column profiled as integer elsewhere: the stray value is counted, not raised
    p_int = profile_frame(pd.DataFrame({"n": ["1", "2", "3", "4"]}))
    strict = coerce_to_profile(df[["n"]], p_int)
    assert str(strict["n"].dtype) == "Int64" and strict.attrs["coerce_failures"] == {"n": 1}


def test_sampled_figures_are_marked() -> None:
    df = pd.DataFrame({"code": [f"k{i:05d}" for i in range(3000)]})
    col = profile_frame(df, options=ProfileOptions(sample_size=500)).columns[0]
    assert "semantic_type" in col.sampled and col.unique_count == 3000
    assert profile_frame(df).columns[0].sampled == []


class FakeLLM:
    """Implements the LLM resource's `structured` interface; records what it was sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []

    def structured(self, rows: list[dict[str, Any]], instruction: str,
                   output_schema: dict[str, Any], *, tier: str = "cheap",
                   step: str = "") -> Any:
        self.calls.append((rows, output_schema))
        if "suggestions" in output_schema["properties"]:
            results = [{"suggestions": ["parse dates", "dedupe rows"]}]
        else:
            answers = {"b": {"_error": "timeout"}, "email": {"description": "True"}}
            results = [answers.get(r["column"], {"description": f"LLM says {r['column']}"})
                       for r in rows]
        return SimpleNamespace(results=results, usage={"input_tokens": 10, "cost_usd": 0.001,
                                                       "model": "fake"})


def test_llm_descriptions_through_the_resource_interface() -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "x"], "email": ["p@q.de", "r@s.de",
                                                                       "t@u.de"]})
    llm = FakeLLM()
    p = profile_frame(df, name="t", llm=llm)
    assert p.descriptions == "llm"
    assert p.column("a").description == "LLM says a"
    assert p.column("b").description.startswith("B: ")  # failed row: rule-based kept
    assert p.column("email").description.startswith("Email: ")  # junk answer: rule-based
    assert p.suggested_transformations == ["parse dates", "dedupe rows"]
    assert p.llm_usage == {"input_tokens": 20, "cost_usd": 0.002, "model": "fake"}
    sent = json.dumps(llm.calls[0][0])
    assert "p@q.de" not in sent  # PII examples never go to the LLM
    broken = SimpleNamespace(structured=lambda *a, **k: 1 / 0)
    failed = profile_frame(df, name="t", llm=broken)
    assert failed.descriptions.startswith("rule-based (LLM call failed: ZeroDivisionError")
    assert failed.column("a").description.startswith("A: ")
    plain = profile_frame(df, name="t")
    assert plain.descriptions == "rule-based (no LLM configured)"
    assert plain.column("a").description and plain.suggested_transformations


def test_cli_json_and_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasetgen_assets.commands.profile as cmd

    monkeypatch.setattr(cmd, "_llm_client", FakeLLM)
    runner = CliRunner()
    res = runner.invoke(main, ["profile", str(FIXTURES / "customers.csv"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    types = {c["name"]: c["semantic_type"] for c in doc["columns"]}
    assert types["email"] == "email" and types["phone"] == "phone"
    out = tmp_path / "s.json"
    res = runner.invoke(main, ["profile", str(FIXTURES / "customers.csv"),
                               str(FIXTURES / "orders_messy.csv"), "--llm"])
    assert res.exit_code == 0, res.output
    assert "foreign key: customer_id -> customers.id" in res.output
    assert "LLM says phone" in res.output and "descriptions: llm" in res.output
    res = runner.invoke(main, ["profile", str(FIXTURES / "orders_messy.csv"), "--schema-out",
                               str(out), "--dayfirst"])
    assert res.exit_code == 0 and DatasetProfile.from_json_schema(json.loads(out.read_text()))


def test_cli_reads_every_source_format(tmp_path: Path) -> None:
    df = pd.DataFrame({"id": [1, 2, 3], "when": ["2024-01-01", "2024-02-01", "2024-03-01"]})
    df.to_parquet(tmp_path / "a.parquet")
    df.to_json(tmp_path / "a.json", orient="records")
    df.to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    df.to_excel(tmp_path / "a.xlsx", index=False)
    df.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    for name in ("a.parquet", "a.json", "a.jsonl", "a.xlsx", "a.tsv"):
        res = CliRunner().invoke(main, ["profile", str(tmp_path / name), "--json"])
        assert res.exit_code == 0, (name, res.output)
        cols = {c["name"]: c["semantic_type"] for c in json.loads(res.output)["columns"]}
        assert cols == {"id": "identifier", "when": "date"}, name


@pytest.mark.parametrize("content,expect", [
    (b"", "file is empty"),
    (bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)), "✗"),
    (b"a,b\n1,2\n\xff\xfe\x00garbage\x00,\x01\n", None),
])
def test_cli_bad_files_give_a_report_or_a_clear_error(tmp_path: Path, content: bytes,
                                                      expect: str | None) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    res = CliRunner().invoke(main, ["profile", str(path), "--json"])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    if expect is None:
        assert res.exit_code in (0, 2)
    else:
        assert res.exit_code == 2 and expect in res.output
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    res = CliRunner().invoke(main, ["profile", str(junk)])
    assert res.exit_code == 2 and "junk.parquet" in res.output
    res = CliRunner().invoke(main, ["profile", str(tmp_path / "x.docx")])
    assert res.exit_code == 2 and "unknown file type" in res.output


def test_mixed_encodings_are_read_or_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "enc.csv"
    path.write_bytes("name,city\nJosé,Zürich\n".encode() + "Renée,Köln\n".encode("cp1252"))
    res = CliRunner().invoke(main, ["profile", str(path), "--json"])
    assert res.exit_code in (0, 2)
    if res.exit_code == 0:
        assert {c["name"] for c in json.loads(res.output)["columns"]} == {"name", "city"}
    else:
        assert "encoding" in res.output


def test_degenerate_frames_never_crash() -> None:
    assert profile_frame(pd.DataFrame()).column_count == 0
    header_only = profile_frame(pd.DataFrame({"a": pd.Series([], dtype="str")}))
    assert header_only.columns[0].semantic_type == "empty" and header_only.row_count == 0
    nulls = profile_frame(pd.DataFrame({"x": [None, None], "y": [np.nan, np.nan],
                                        "z": ["", "N/A"]}))
    assert [c.semantic_type for c in nulls.columns] == ["empty"] * 3
    assert _kinds(nulls) >= {"all_null"}
    odd = pd.DataFrame({"obj": [{"a": 1}, [1, 2], b"\xff\x00", 3, None],
                        "mixed": [1, "two", 3.0, None, True],
                        "inf": [np.inf, -np.inf, 1.0, np.nan, 2.0],
                        "td": pd.to_timedelta([1, 2, 3, 4, 5], unit="s"),
                        "cat": pd.Categorical(["a", "b", "a", None, "b"]),
                        "cplx": [1 + 2j, 3j, 0j, 1 + 0j, 2 + 0j]})
    p = profile_frame(odd)
    assert {c.semantic_type for c in p.columns} <= set(SEMANTIC_TYPES)
    json.dumps(p.to_json_schema())
    coerce_to_profile(odd, p)
    dup_names = pd.DataFrame([[1, 2]], columns=["a", "a"])
    assert [c.name for c in profile_frame(dup_names).columns] == ["a", "a.1"]


def test_very_long_strings() -> None:
    df = pd.DataFrame({"blob": ["x" * 1_000_000, "y" * 10, "z" * 300_000]})
    col = profile_frame(df).columns[0]
    assert col.max_length == 1_000_000 and len(col.top_values[0].value) <= 100


def test_ten_thousand_columns() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.integers(0, 9, (3, 10_000)), columns=[f"c{i}" for i in range(10_000)])
    started = time.perf_counter()
    p = profile_frame(df)
    assert p.column_count == 10_000 and len(p.columns) == 10_000
    assert time.perf_counter() - started < 30
    assert markdown(p).count("\n|") < 300  # the markdown stays compact


def test_profile_step_report_schema_file_and_passthrough(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASETGEN_DATA_URL", str(tmp_path / "data"))
    st = get_step_type("profile")
    assert st.kind == "transform" and st.uses_llm
    orders = pd.read_csv(FIXTURES / "orders_messy.csv", dtype=str)
    customers = pd.read_csv(FIXTURES / "customers.csv")
    cfg = st.config_model(dayfirst=True, reference_names=["customers"], llm_descriptions=True)
    ctx = StepContext(pipeline="shop", step_id="orders_profile")
    res = st.run([orders, customers], cfg, ctx)
    assert res.frame is orders
    rep = res.report
    assert rep["schema_path"] == str(tmp_path / "data" / "shop" / "orders_profile.schema.json")
    saved = load_profile(profile_url("shop", "orders_profile"))
    on_disk = json.loads(Path(rep["schema_path"]).read_text())
    assert saved == DatasetProfile.from_json_schema(on_disk)
    assert saved.column("amount").decimal_separator == ","
    assert rep["descriptions"] == "rule-based (no LLM configured)"
    assert rep["foreign_keys"][0]["references"] == "customers"
    assert "| column | type |" in rep["markdown"]
    assert rep["semantic_types"]["order_date"] == "date"
    schema = table_schema(rep["column_schema"])
    assert [c.name for c in schema.columns] == list(orders.columns)
    ctx.llm = FakeLLM()
    assert st.run([orders], cfg, ctx).report["descriptions"] == "llm"


def test_profile_step_in_a_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASETGEN_DATA_URL", str(tmp_path / "a"))
    (tmp_path / "p.yaml").write_text(f"""
name: prof
steps:
  - {{id: orders, type: csv, config: {{path: {FIXTURES}/orders_messy.csv}}}}
  - {{id: customers, type: csv, config: {{path: {FIXTURES}/customers.csv}}}}
  - id: orders_profile
    type: profile
    depends_on: [orders, customers]
    config: {{reference_names: [customers], dayfirst: true}}
  - {{id: kept, type: select, depends_on: [orders_profile], config: {{columns: [order_id]}}}}
""")
    built = build_pipeline(load_pipeline(tmp_path / "p.yaml"))
    result = dg.materialize(built["assets"], resources=datasetgen_resources(str(tmp_path / "a")),
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    md = result.asset_materializations_for_node("prof__orders_profile")[0].metadata
    report = md["report"].value
    assert report["schema_path"].endswith("prof/orders_profile.schema.json")
    assert Path(report["schema_path"]).exists()
    assert report["foreign_keys"][0]["column"] == "customer_id"
    assert result.output_for_node("prof__kept").columns.tolist() == ["order_id"]


def test_pii_values_stay_out_of_issue_texts() -> None:
    df = pd.DataFrame({"full_name": ["Ann Smith", "ann smith", "Bob Jones", "Bob Jones"] * 3})
    p = profile_frame(df)
    assert p.columns[0].pii == "PERSON"
    casing = [i for i in p.issues if i.kind == "casing_variants"]
    assert casing and "Ann" not in casing[0].detail and "ann" not in casing[0].detail
