"""The `pii` step: Presidio detection with the column strategy, actions, masking, commands."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from faker import Faker
from pydantic import ValidationError

from datasetgen_assets.cli import main
from datasetgen_assets.errors import StepInputError, UnknownColumnError
from datasetgen_assets.pipeline.metadata import step_metadata
from datasetgen_assets.steps.pii import PiiConfig, findings, run, scan_frame
from datasetgen_assets.steps.registry import StepContext, get_step_type

LABELLED = Path("/work/shared/data/pii/generated_small.json")
KEY_ENV = "DATASETGEN_PII_HASH_KEY"
AREAS = (212, 415, 312, 617, 202, 305, 713, 206, 503, 404)


def people(n: int = 120, seed: int = 3) -> pd.DataFrame:
    f = Faker("en_US")
    f.seed_instance(seed)
    return pd.DataFrame({
        "name": [f.name() for _ in range(n)],
        "email": [f.email() for _ in range(n)],
        "phone": [f"({f.random_element(AREAS)}) {f.random_int(200, 999)}-{f.numerify('####')}"
                  for _ in range(n)],
        "sku": [f"SKU-{i:05d}" for i in range(n)],
        "note": [f"Please call {f.name()} in {f.city()} about order {i}" for i in range(n)],
    })


@pytest.fixture(scope="module")
def scanned() -> tuple[pd.DataFrame, dict, dict]:
    df = people()
    hits, plans = scan_frame(df, PiiConfig())
    return df, hits, plans


def test_column_strategy(scanned):
    df, hits, plans = scanned
    assert plans["name"]["typed_entity"] == "PERSON"
    assert plans["email"]["typed_entity"] == "EMAIL_ADDRESS"
    assert plans["phone"]["typed_entity"] == "PHONE_NUMBER"
    assert plans["sku"]["strategy"] == "structured: patterns only" and not hits["sku"]
    assert plans["note"]["strategy"].startswith("free_text")
    assert len(hits["email"]) == df["email"].nunique()
    found = findings(df, hits)
    note_people = [f for f in found if f["column"] == "note" and f["entity_type"] == "PERSON"]
    assert len(note_people) >= 0.6 * len(df)
    one = note_people[0]
    cell = df.at[one["row"], "note"]
    assert cell[one["start"]:one["end"]].split()[0] in cell and 0 < one["score"] <= 1


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_recall_on_the_labelled_sample():
    records = json.loads(LABELLED.read_text())
    df = pd.DataFrame({"text": [r["full_text"] for r in records]})
    hits, _ = scan_frame(df, PiiConfig())
    supported = {"PERSON", "LOCATION", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IP_ADDRESS",
                 "EMAIL_ADDRESS", "DATE_TIME", "ORGANIZATION"}
    total = found = 0
    for r in records:
        got = hits["text"].get(r["full_text"], [])
        for span in r["spans"]:
            if span["entity_type"] not in supported:
                continue
            total += 1
            found += any(h.entity == span["entity_type"] and _overlaps(
                (h.start, h.end), (span["start_position"], span["end_position"])) for h in got)
    assert total > 100 and found / total >= 0.5, f"recall {found}/{total}"


def test_actions(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "k1")
    df = people(40)
    df.loc[1, "name"] = df.loc[0, "name"]
    cfg = PiiConfig.model_validate({"actions": {
        "EMAIL_ADDRESS": {"type": "mask", "keep_last": 4}, "name": "pseudonymize",
        "phone": "hash", "PERSON": "redact", "sku": "drop_column"}})
    out = run([df], cfg, StepContext()).frame
    assert "sku" not in out.columns
    assert all(m.startswith("*") and m[-4:] == e[-4:] for m, e in zip(out["email"], df["email"],
                                                                       strict=True))
    assert out.at[0, "name"] == out.at[1, "name"] != df.at[0, "name"]
    assert out["name"].nunique() >= 0.9 * df["name"].nunique()
    assert (out["phone"].str.len() == 16).all() and out["phone"].nunique() == df["phone"].nunique()
    assert "<PERSON>" in " ".join(out["note"])
    again = run([df], cfg, StepContext()).frame
    assert again["phone"].tolist() == out["phone"].tolist()  # keyed: joins still work
    monkeypatch.setenv(KEY_ENV, "k2")
    assert run([df], cfg, StepContext()).frame.at[0, "phone"] != out.at[0, "phone"]


def test_hash_without_a_key_is_a_clear_error_without_values(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    df = people(20)
    with pytest.raises(StepInputError) as info:
        run([df], PiiConfig.model_validate({"actions": {"email": "hash"}}), StepContext())
    assert KEY_ENV in str(info.value) and df.at[0, "email"] not in str(info.value)


def test_reports_logs_and_previews_hold_no_raw_values(caplog):
    df = people(30)
    with caplog.at_level(logging.DEBUG):
        result = run([df], PiiConfig(), StepContext())
    assert set(result.report["pii_columns"]) >= {"name", "email", "phone", "note"}
    raw = [df.at[0, c] for c in ("name", "email", "phone")]
    text = json.dumps(result.report) + caplog.text
    assert not any(v in text for v in raw)
    md = step_metadata(result.frame, result.report, "plan")
    preview = md["preview"].value
    assert "PII" in preview and not any(v in preview for v in raw)
    assert "SKU-00000" in preview  # columns without PII stay visible
    # a step without a PII report still gets PII-looking columns masked
    md = step_metadata(df[["sku", "email"]], {}, "plan")
    assert df.at[0, "email"] not in md["preview"].value


@pytest.mark.parametrize("cfg, text", [
    ({"entities": ["EMAIL"]}, "unknown entity types"),
    ({"min_score": 2}, "min_score"),
    ({"actions": {"PERSON": "drop_column"}}, "columns only"),
    ({"actions": {"EMAIL_ADRESS": "mask"}}, "unknown entity type"),
    ({"actions": {"email": "shred"}}, "actions.email"),
])
def test_bad_config(cfg, text):
    with pytest.raises(ValidationError) as info:
        PiiConfig.model_validate(cfg)
    assert text in str(info.value)


def test_unknown_column_at_validate_time():
    st = get_step_type("pii")
    cfg = PiiConfig.model_validate({"columns": ["emial"]})
    with pytest.raises(UnknownColumnError):
        st.infer_columns(cfg, [["email", "name"]], StepContext())
    cfg = PiiConfig.model_validate({"actions": {"ssn": "drop_column"}})
    assert st.infer_columns(cfg, [["ssn", "name"]], StepContext()) == ["name"]


def test_pii_command_json_and_apply(tmp_path):
    df = people(25)
    src = tmp_path / "people.csv"
    df.to_csv(src, index=False)
    runner = CliRunner()
    res = runner.invoke(main, ["pii", str(src), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["columns"]["email"]["EMAIL_ADDRESS"] == 25
    f = doc["findings"][0]
    assert set(f) == {"row", "column", "entity_type", "start", "end", "score"}
    assert df.at[0, "email"] not in res.output and df.at[0, "name"] not in res.output
    out = tmp_path / "masked.csv"
    res = runner.invoke(main, ["pii", str(src), "--apply", "mask", "--out", str(out)])
    assert res.exit_code == 0, res.output
    masked = pd.read_csv(out)
    assert masked["email"].str.startswith("*").all() and (masked["sku"] == df["sku"]).all()
    res = runner.invoke(main, ["pii", str(src), "--apply", "mask"])
    assert res.exit_code != 0


def test_quality_command(tmp_path):
    src = tmp_path / "d.csv"
    src.write_text("id,age\n1,10\n2,300\n3,40\n3,40\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text("business_rules:\n  - {type: range, column: age, min: 0, max: 150}\n")
    runner = CliRunner()
    res = runner.invoke(main, ["quality", str(src), "--rules", str(rules), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["by_family"]["business_rules"] == {"high": 1}
    assert doc["by_family"]["duplicates"] == {"high": 1} and doc["score"] < 100
    res = runner.invoke(main, ["quality", str(src), "--rules", str(rules), "--min-score", "99"])
    assert res.exit_code == 1 and "Quality score" in res.output
    rules.write_text("business_rules:\n  - {type: regex, column: age, pattern: '(['}\n")
    res = runner.invoke(main, ["quality", str(src), "--rules", str(rules)])
    assert res.exit_code == 2 and "does not compile" in res.output
