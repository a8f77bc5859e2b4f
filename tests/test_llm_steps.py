"""The LLM steps (llm_process, semantic_filter, fuzzy_join, llm_validate) against the
emulator, their safe templates, the optimizer moving rule filters below them, and a Dagster
materialization with the `llm` resource: usage in metadata, zero calls on rerun."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from pydantic import ValidationError

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.optimizer import optimize
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_assets.steps import fuzzy_join, llm_process, llm_validate, semantic_filter
from datasetgen_assets.steps.llm_process import LLMStepError, render
from datasetgen_assets.steps.registry import StepContext
from datasetgen_resources import datasetgen_resources
from datasetgen_resources.llm.emulator import Emulator, emulated_answer, row_text
from tests.fixtures.llm import (
    emulator_client,
    emulator_spec,
)

PRODUCTS = pd.DataFrame({"title": ["Red hammer", "Blue kite", "Green apple", None],
                         "price": [9.5, 20.0, 1.25, 3.0]})


def _ctx(emu: Emulator, **settings) -> StepContext:
    return StepContext(pipeline="p", step_id="s",
                       llm=emulator_client([emulator_spec(emu)], **settings))


def test_render_is_plain_substitution():
    assert render("{title} costs {price} {{not a field}}", {"title": "A", "price": 2}) == \
        "A costs 2 {not a field}"
    assert render("{missing}", {}) == ""
    # a dotted name is a (flattened) column name looked up as is, never an attribute
    assert render("{title.__class__}", {"title": "A"}) == ""
    assert render("{shipping.cost}", {"shipping.cost": 4}) == "4"
    for bad in ("{title!r}", "{0[1]}", "{price:>10}", "{__import__('os')}"):
        with pytest.raises(ValidationError, match="placeholder"):
            llm_process.LLMProcessConfig(mode="summarize", prompt=bad)


def test_enrich_with_prompt_template(llm_emulator: Emulator):
    cfg = llm_process.LLMProcessConfig(
        mode="enrich", prompt="Product: {title} at {price} EUR",
        fields={"category": {"type": "string", "enum": ["tools", "toys", "food"]},
                "weight_g": "integer", "short": "a short name"})
    res = llm_process.run([PRODUCTS], cfg, _ctx(llm_emulator))
    out = res.frame
    assert list(out.columns) == ["title", "price", "category", "weight_g", "short", "_llm_error"]
    _, schema, _ = llm_process.task(cfg)
    for rec, (_, row) in zip(PRODUCTS.to_dict("records"), out.iterrows(), strict=True):
        want = emulated_answer({"input": render(cfg.prompt, rec)}, schema)
        assert row["category"] == want["category"] and row["weight_g"] == want["weight_g"]
        assert row["short"] == want["short"] and pd.isna(row["_llm_error"])
    assert res.report["llm"]["calls"] == 1 and res.report["rows_out"] == 4


def test_classify_summarize_translate_extract(llm_emulator: Emulator):
    ctx = _ctx(llm_emulator)
    out = llm_process.run([PRODUCTS], llm_process.LLMProcessConfig(
        mode="classify", labels=["cheap", "pricey"], input_columns=["title"],
        output_column="band"), ctx).frame
    assert set(out["band"]) <= {"cheap", "pricey"}
    assert out["band_confidence"].map(lambda v: isinstance(v, float)).all()
    out = llm_process.run([PRODUCTS], llm_process.LLMProcessConfig(
        mode="summarize", input_columns=["title"]), ctx).frame
    assert out["summary"].iloc[0] == "summary:Red hammer"
    out = llm_process.run([PRODUCTS], llm_process.LLMProcessConfig(
        mode="translate", target_language="French", prompt="{title}"), ctx).frame
    assert out["translation"].iloc[1] == "translation:Blue kite"
    out = llm_process.run([PRODUCTS], llm_process.LLMProcessConfig(
        mode="extract", prompt="{title}", fields={"color": "the color"}), ctx).frame
    assert out["color"].iloc[0] == "color:Red hammer"
    with pytest.raises(ValidationError, match="labels"):
        llm_process.LLMProcessConfig(mode="classify", labels=["one"])
    with pytest.raises(StepInputError, match="unknown column 'titel'"):
        llm_process.run([PRODUCTS], llm_process.LLMProcessConfig(
            mode="summarize", prompt="{titel}"), ctx)


def test_budget_stop_is_a_clear_step_error(llm_emulator: Emulator):
    cfg = llm_process.LLMProcessConfig(mode="summarize", prompt="{title}", tier="best",
                                       max_cost_usd=1e-9)
    with pytest.raises(LLMStepError, match="budget"):
        llm_process.run([PRODUCTS], cfg, _ctx(llm_emulator))
    assert llm_emulator.stats.requests == 0


def test_failed_rows_are_kept_with_the_error(llm_emulator: Emulator):
    llm_emulator.configure(fault="schema", times=99)
    out = llm_process.run([PRODUCTS], llm_process.LLMProcessConfig(
        mode="summarize", prompt="{title}"), _ctx(llm_emulator)).frame
    assert len(out) == 4 and out["_llm_error"].str.contains("schema").all()


def test_semantic_filter_and_cascade(llm_emulator: Emulator):
    texts = ["a", "bb", "ccc", "dddd", "eeeeeeeeeeee", "ffffffffffffff"]
    frame = pd.DataFrame({"t": texts})
    # emulator: holds = even text length, confidence = length / 10
    keep = [t for t in texts if len(row_text({"t": t})) % 2 == 0]
    res = semantic_filter.run([frame], semantic_filter.SemanticFilterConfig(
        condition="is even", input_columns=["t"]), _ctx(llm_emulator))
    assert res.frame["t"].tolist() == keep and res.report["rows_removed"] == 2 * 3 - len(keep)
    llm_emulator.reset()
    res = semantic_filter.run([frame], semantic_filter.SemanticFilterConfig(
        condition="is even", input_columns=["t"], tier="best",
        cascade={"proxy_tier": "cheap", "threshold": 0.9}), _ctx(llm_emulator))
    assert res.frame["t"].tolist() == keep
    assert res.report["cascade"]["proxy_decided"] == 2  # lengths 12 and 14: confident
    assert res.report["cascade"]["escalated"] == 4
    assert res.report["llm"]["model"] == "emu-best" and llm_emulator.stats.rows == 6 + 4


def test_fuzzy_join_reports_comparisons_per_stage(llm_emulator: Emulator):
    left = pd.DataFrame({"name": ["Acme Corporation", "Globex Inc", "Initech", "Zzz"],
                         "city": ["NY", "SF", "LA", "XX"]})
    right = pd.DataFrame({"company": ["ACME Corporation", "Globex Incorporated", "Initrode",
                                      "Umbrella"], "rid": [1, 2, 3, 4]})
    cfg = fuzzy_join.FuzzyJoinConfig(left_on="name", right_on="company", candidates=2,
                                     min_score=50, accept_score=90, entity="company")
    res = fuzzy_join.run([left, right], cfg, _ctx(llm_emulator))
    r = res.report
    assert r["fuzzy_comparisons"] == 16
    assert r["accepted_by_score"] == 1  # only Acme scores >= 90 (case differs)
    assert r["llm_comparisons"] == llm_emulator.stats.rows > 0
    assert r["candidate_pairs"] >= r["llm_comparisons"] + 1
    out = res.frame
    assert len(out) == 4 and out.loc[0, "rid"] == 1 and out.loc[0, "_match_method"] == "fuzzy"
    assert pd.isna(out.loc[3, "_match_method"]) and pd.isna(out.loc[3, "rid"])
    inner = fuzzy_join.run([left, right], cfg.model_copy(update={"how": "inner"}),
                           _ctx(llm_emulator)).frame
    assert len(inner) == len(out) - r["unmatched"]


def test_llm_validate_flags_and_check(llm_emulator: Emulator):
    frame = pd.DataFrame({"a": ["x", "yy", "zzz", "wwww"]})
    res = llm_validate.run([frame], llm_validate.LLMValidateConfig(
        input_columns=["a"], max_flagged_fraction=0.25, blocking=True), _ctx(llm_emulator))
    # emulator: valid = even length of the row text; problems = []
    assert res.frame["_llm_flagged"].tolist() == [True, False, True, False]
    (check,) = res.checks
    assert check.name == "llm_semantic_validity" and not check.passed and check.blocking
    assert check.metadata["flagged"] == 2


def _write_pipeline(tmp: Path) -> Path:
    (tmp / "items.csv").write_text("sku,title,price\nA1,Red hammer,9.5\nB2,Blue kite,20\n"
                                   "C3,Green apple,1.25\n")
    (tmp / "workspace.yaml").write_text("load_from: []\n")
    path = tmp / "enrich.yaml"
    path.write_text("""name: llm_demo
steps:
  - id: items
    type: csv
    config: {path: %s}
  - id: enriched
    type: llm_process
    depends_on: [items]
    config:
      mode: enrich
      prompt: "{title} for {price}"
      fields: {category: string}
  - id: cheap_only
    type: filter
    depends_on: [enriched]
    config: {condition: "price < 10"}
""".replace("%s", str(tmp / "items.csv")))
    return path


def test_optimizer_runs_rule_filters_before_the_llm(tmp_path: Path):
    plan = optimize(load_pipeline(_write_pipeline(tmp_path)))
    assert "price < 10" in plan.nodes["items"].describe() + str(
        plan.nodes["enriched"].input_filters)


def test_dagster_asset_metadata_and_zero_calls_on_rerun(llm_emulator: Emulator, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATASETGEN_LLM_PROVIDERS", "emu")
    monkeypatch.setenv("DATASETGEN_LLM_EMU_BASE_URL", llm_emulator.openai_base_url())
    monkeypatch.setenv("DATASETGEN_LLM_EMU_MODEL", "emu-cheap")
    monkeypatch.setenv("DATASETGEN_LLM_CACHE_PATH", str(tmp_path / "llm.sqlite"))
    monkeypatch.setenv("DATASETGEN_PROJECT_DIR", str(tmp_path))
    built = build_pipeline(load_pipeline(_write_pipeline(tmp_path)))
    enriched = next(a for a in built["assets"] if a.key.path[-1] == "enriched")
    assert enriched.required_resource_keys >= {"llm"}

    def materialize() -> dict:
        res = dg.materialize(built["assets"], resources=datasetgen_resources(
            str(tmp_path / "assets")), instance=dg.DagsterInstance.ephemeral())
        assert res.success
        mats = res.asset_materializations_for_node("llm_demo__enriched")
        return {k: v.value for k, v in mats[0].metadata.items()}

    first = materialize()
    assert first["llm/calls"] == 1 and first["llm/cache_hits"] == 0
    assert first["llm/usage"]["provider"] == "emu" and first["llm/cost_usd"] == 0.0
    requests = llm_emulator.stats.requests
    second = materialize()
    assert second["llm/calls"] == 0 and second["llm/cache_hits"] == 2  # rows left after filter
    assert llm_emulator.stats.requests == requests


def test_cli_llm_estimate_and_ping(llm_emulator: Emulator, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch):
    from click.testing import CliRunner

    from datasetgen_assets.cli import main

    monkeypatch.setenv("DATASETGEN_LLM_PROVIDERS", "emulator")
    monkeypatch.setenv("DATASETGEN_LLM_EMULATOR_BASE_URL", llm_emulator.openai_base_url())
    monkeypatch.setenv("DATASETGEN_LLM_EMULATOR_MODEL", "emu-best")
    monkeypatch.setenv("DATASETGEN_LLM_CACHE_PATH", str(tmp_path / "llm.sqlite"))
    path = _write_pipeline(tmp_path)
    res = CliRunner().invoke(main, ["llm", "estimate", str(path)])
    assert res.exit_code == 0, res.output
    assert "enriched (llm_process): 3 rows" in res.output or "enriched (llm_process)" in \
        res.output
    assert "emulator/emu-best: $" in res.output and "total: $" in res.output
    assert llm_emulator.stats.requests == 0  # an estimate calls nothing
    res = CliRunner().invoke(main, ["llm", "ping"])
    assert res.exit_code == 0 and "✓ chain [emulator]: emulator/emu-best" in res.output
    llm_emulator.configure(fault="500", times=99)
    res = CliRunner().invoke(main, ["llm", "ping"])
    assert res.exit_code == 1 and "HTTP 500" in res.output
