"""`quality_validation`: rules that become Dagster asset checks (blocking quality gates).

The structural rules (`schema.required_columns`, `not_null`, `unique`, `min_rows`) each stay
one asset check. With any of `business_rules`, `checks`, `deep_analysis` or
`min_quality_score` the step also runs the ten rule families, scores the data
(`100 * (1 - weighted issues / cells)`) and declares a blocking `min_quality_score` check plus
one check per family. Rule checks run as Great Expectations expectations; the other families
are vectorized pandas (see `datasetgen_assets/quality/`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from datasetgen_assets.pipeline.condition import ConditionTypeError, evaluate
from datasetgen_assets.quality import families as fam
from datasetgen_assets.quality.config import Checks
from datasetgen_assets.quality.issues import FAMILIES, Issue, quality_score
from datasetgen_assets.quality.pii_regex import MASK, mask_text, mask_value
from datasetgen_assets.quality.report import by_family, markdown, summary
from datasetgen_assets.quality.rules import (
    GE_RULES,
    ConditionRule,
    CustomRule,
    EnumRule,
    RangeRule,
    Rule,
)
from datasetgen_assets.steps.registry import (
    CheckOutcome,
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    check_known,
    passthrough_columns,
    register,
)

DEFAULT_MIN_SCORE = 80.0


class SchemaRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    required_columns: list[str] = Field(default_factory=list, description="Must be present.")


class QualityConfig(StepConfig):
    schema_: SchemaRules = Field(default_factory=SchemaRules, alias="schema",
                                 description="Structural expectations.")
    not_null: list[str] = Field(default_factory=list, description="Columns without nulls.")
    unique: list[str] = Field(default_factory=list, description="Columns forming a unique key.")
    min_rows: int | None = Field(None, ge=0, description="Fewest rows accepted.")
    blocking: bool = Field(True, description="Failed checks stop downstream steps.")
    business_rules: list[Rule] = Field(default_factory=list,
                                       description="range, regex, enum, not_null, unique, "
                                                   "condition, custom.")
    checks: Checks | None = Field(None, description="Per-family settings; `false` turns one off.")
    deep_analysis: bool = Field(False, description="Semantic checks through the LLM resource.")
    min_quality_score: float = Field(DEFAULT_MIN_SCORE, ge=0, le=100,
                                     description="Blocking gate on the quality score (0-100).")
    blocking_families: list[str] = Field(default_factory=list,
                                         description="Family checks that also block.")
    data_docs: bool = Field(True, description="Write Great Expectations Data Docs HTML.")
    data_docs_dir: str = Field("data/quality_docs", description="Folder of the Data Docs pages.")

    @field_validator("blocking_families")
    @classmethod
    def _known_families(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in FAMILIES:
                raise ValueError(f"blocking_families: unknown family '{name}'; "
                                 f"known: {', '.join(FAMILIES)}")
        return v

    @model_validator(mode="after")
    def _invalid_value_rules(self) -> QualityConfig:
        self.invalid_rules()  # ranges with min > max fail at validate time
        return self

    @property
    def scored(self) -> bool:
        """The families, the score and their checks run (any new key given)."""
        return bool(self.business_rules or self.checks is not None or self.deep_analysis
                    or "min_quality_score" in self.model_fields_set)

    def families(self) -> Checks:
        return self.checks or Checks()

    def enabled(self) -> list[str]:
        """The families that run, in the seed's order."""
        c = self.families()
        out = []
        for f in FAMILIES:
            if f == "business_rules":
                out.append(f)
            elif f == "semantic_issues":
                if self.deep_analysis and c.semantic_issues.enabled:
                    out.append(f)
            elif getattr(c, f).enabled:
                out.append(f)
        return out

    def invalid_rules(self) -> list[Any]:
        iv = self.families().invalid_values
        if not iv.enabled:
            return []
        rules: list[Any] = []
        for col, bounds in iv.ranges.items():
            extra = set(bounds) - {"min", "max"}
            if extra:
                raise ValueError(f"checks.invalid_values.ranges.{col}: only min and max, "
                                 f"not {sorted(extra)}")
            rules.append(RangeRule(type="range", column=col, severity=iv.severity, **bounds))
        rules += [EnumRule(type="enum", column=col, values=vals, severity=iv.severity)
                  for col, vals in iv.enums.items()]
        rules += [ConditionRule(type="condition", condition=c, severity=iv.severity)
                  for c in iv.logical]
        return rules


def _checks(config: QualityConfig) -> list[tuple[str, bool, str]]:
    out = []
    if config.schema_.required_columns:
        out.append(("required_columns", config.blocking, "The required columns are present."))
    if config.not_null:
        out.append(("not_null", config.blocking, f"No nulls in {', '.join(config.not_null)}."))
    if config.unique:
        out.append(("unique", config.blocking, f"({', '.join(config.unique)}) is a unique key."))
    if config.min_rows is not None:
        out.append(("min_rows", config.blocking, f"At least {config.min_rows} rows."))
    if config.scored:
        out.append(("min_quality_score", config.blocking,
                    f"Quality score >= {config.min_quality_score:g}."))
        out += [(f, f in config.blocking_families, f"No {f.replace('_', ' ')} issues.")
                for f in config.enabled()]
    return out


def _structural(frame: pd.DataFrame, config: QualityConfig) -> list[CheckOutcome]:
    blocking = config.blocking
    outcomes: list[CheckOutcome] = []
    if config.schema_.required_columns:
        missing = [c for c in config.schema_.required_columns if c not in frame.columns]
        outcomes.append(CheckOutcome("required_columns", not missing,
                                     f"missing: {missing}" if missing else "all present",
                                     blocking, {"missing_columns": missing}))
    if config.not_null:
        present = [c for c in config.not_null if c in frame.columns]
        nulls = {c: int(frame[c].isna().sum()) for c in present}
        absent = [c for c in config.not_null if c not in frame.columns]
        bad = sum(nulls.values())
        outcomes.append(CheckOutcome("not_null", bad == 0 and not absent,
                                     f"{bad} null cells", blocking,
                                     {"null_counts": nulls, "missing_columns": absent}))
    if config.unique:
        cols = [c for c in config.unique if c in frame.columns]
        dupes = int(frame.duplicated(subset=cols, keep="first").sum()) if cols else 0
        ok = dupes == 0 and len(cols) == len(config.unique)
        outcomes.append(CheckOutcome("unique", ok, f"{dupes} duplicate keys", blocking,
                                     {"duplicate_rows": dupes}))
    if config.min_rows is not None:
        outcomes.append(CheckOutcome("min_rows", len(frame) >= config.min_rows,
                                     f"{len(frame)} rows", blocking, {"rows": len(frame)}))
    return outcomes


def _rule_issues(frame: pd.DataFrame, rules: list[tuple[str, Any]], ctx: StepContext,
                 timing: dict[str, float]) -> tuple[list[Issue], Any]:
    """Business and invalid-value rules: GE expectations where GE has them, ours otherwise."""
    issues: list[Issue] = []
    runnable = []
    for family, rule in rules:
        absent = [c for c in rule.columns() if c not in frame.columns]
        if absent:
            issues.append(Issue(family, rule.label(), "critical", len(frame), absent[0],
                                f"column(s) {absent} missing, so the rule cannot hold"))
        else:
            runnable.append((family, rule))
    ge_rules = [(f, r) for f, r in runnable if isinstance(r, GE_RULES)]
    ge_result = None
    if ge_rules:
        from datasetgen_assets.quality.ge_checks import run_rules

        out = run_rules(frame, [r for _, r in ge_rules])
        timing["great_expectations"] = out["seconds"]
        ge_result = out["result"]
        for (family, rule), res in zip(ge_rules, out["rules"], strict=True):
            if res["error"]:
                issues.append(Issue(family, rule.label(), rule.severity, len(frame),
                                    rule.columns()[0], "the expectation could not run on this "
                                    "column (mixed or unsupported types)"))
            elif res["count"]:
                msg = f"{res['count']} rows break {rule.label()}"
                if res["non_numeric"]:
                    msg += f" ({res['non_numeric']} are not numbers)"
                examples = [{"row": r, "column": rule.columns()[0], "value": v}
                            for r, v in zip(res["rows"], res["values"], strict=False)]
                issues.append(Issue(family, rule.label(), rule.severity, res["count"],
                                    ",".join(rule.columns()), msg, examples))
    started = time.perf_counter()
    for family, rule in runnable:
        if isinstance(rule, ConditionRule):
            try:  # CHECK-constraint semantics: only rows where the condition is false fail
                bad = evaluate(f"not ({rule.condition})", frame)
            except (ConditionTypeError, TypeError) as exc:
                issues.append(Issue(family, rule.label(), rule.severity, len(frame), None,
                                    f"condition cannot be evaluated: {exc}"))
                continue
        elif isinstance(rule, CustomRule):
            from datasetgen_assets.steps.custom_python import load_function

            ok = load_function(rule.function, str(ctx.base_dir))(frame.copy())
            bad = ~pd.Series(ok, index=frame.index).fillna(False).astype(bool)
        else:
            continue
        if n := int(bad.sum()):
            issues.append(Issue(family, rule.label(), rule.severity, n, None,
                                f"{n} rows break {rule.label()}", fam._rows(bad, frame)))
    timing["vectorized"] = timing.get("vectorized", 0.0) + time.perf_counter() - started
    return issues, ge_result


def _mask_examples(issues: list[Issue], masked: set[str]) -> None:
    for issue in issues:
        for ex in issue.examples:
            if isinstance(ex, dict) and "value" in ex:
                v = ex["value"]
                ex["value"] = (mask_value(v) if ex.get("column") in masked
                               else mask_text(v) if isinstance(v, str) else json_scalar(v))
            if isinstance(ex, dict) and "issue" in ex:
                ex["issue"] = mask_text(ex["issue"])


def json_scalar(value: Any) -> Any:
    """A JSON-able scalar for reports."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value if isinstance(
        value, int | float | bool | str) else str(value)


def _semantic_rows(frame: pd.DataFrame, n: int, masked: set[str]) -> list[dict[str, Any]]:
    sample = frame.sample(min(n, len(frame)), random_state=0) if len(frame) else frame
    rows = []
    for idx, rec in zip(sample.index, sample.to_dict("records"), strict=True):
        rows.append({"_row": int(idx) if isinstance(idx, int | np.integer) else str(idx),
                     **{str(k): MASK if k in masked else mask_text(v) if isinstance(v, str)
                        else json_scalar(v) for k, v in rec.items()}})
    return rows


def assess(frame: pd.DataFrame, config: QualityConfig, ctx: StepContext,
           known_pii: set[str] | None = None) -> dict[str, Any]:
    """Run every enabled family; returns issues, score, per-family data and timings."""
    c = config.families()
    timing: dict[str, float] = {}
    issues: list[Issue] = []
    extra: dict[str, Any] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        t = time.perf_counter()
        out = fn(*args)
        timing[name] = round(time.perf_counter() - t, 4)
        return out

    required = set(config.not_null) | {r.column for r in config.business_rules
                                       if r.type == "not_null"}
    if c.missing_values.enabled:
        issues += timed("missing_values", fam.missing_values, frame, c.missing_values, required)
        for col in config.schema_.required_columns:
            if col not in frame.columns:
                issues.append(Issue("missing_values", "required_column", "critical",
                                    len(frame), col, "required column is missing"))
    if c.duplicates.enabled:
        issues += timed("duplicates", fam.duplicates, frame, c.duplicates, config.unique)
    if c.type_consistency.enabled:
        issues += timed("type_consistency", fam.type_consistency, frame, c.type_consistency)
    if c.outliers.enabled:
        issues += timed("outliers", fam.outliers, frame, c.outliers)
    if c.format_inconsistency.enabled:
        issues += timed("format_inconsistency", fam.format_inconsistency, frame,
                        c.format_inconsistency)
    pii_cols: set[str] = set(known_pii or ())
    if c.pii_exposure.enabled:
        found, flagged = timed("pii_exposure", fam.pii_exposure, frame, c.pii_exposure)
        issues += found
        pii_cols |= flagged
    if c.statistical_anomalies.enabled:
        found, extra["distribution_shift"] = timed("statistical_anomalies",
                                                   fam.distribution_shift, frame, ctx.previous,
                                                   c.statistical_anomalies)
        issues += found
    rules = [("invalid_values", r) for r in config.invalid_rules()]
    rules += [("business_rules", r) for r in config.business_rules]
    ge_result = None
    if rules:
        found, ge_result = _rule_issues(frame, rules, ctx, timing)
        issues += found
    if config.deep_analysis and c.semantic_issues.enabled:
        rows = _semantic_rows(frame, c.semantic_issues.sample_rows, pii_cols)
        found, extra["semantic"] = timed("semantic_issues", fam.semantic_issues, rows, ctx.llm,
                                         c.semantic_issues, ctx.step_id)
        issues += found
    _mask_examples(issues, pii_cols)
    score = quality_score(issues, len(frame), len(frame.columns))
    return {"issues": issues, "score": score, "pii_columns": sorted(pii_cols),
            "timing": timing, "ge_result": ge_result, **extra}


def _data_docs(ge_result: Any, ctx: StepContext, config: QualityConfig,
               masked: set[str]) -> str | None:
    if ge_result is None or not config.data_docs:
        return None
    from datasetgen_assets.quality.ge_checks import write_data_docs

    name = f"{ctx.pipeline}/{ctx.step_id}" + (f"/{ctx.partition_key}" if ctx.partition_key
                                              else "")
    return write_data_docs(ge_result, Path(ctx.resolve(config.data_docs_dir)) / f"{name}.html",
                           masked)


def run(inputs: list[pd.DataFrame], config: QualityConfig, ctx: StepContext) -> StepResult:
    frame = inputs[0]
    outcomes = _structural(frame, config)
    report: dict[str, Any] = {}
    if config.scored:
        result = assess(frame, config, ctx)
        issues: list[Issue] = result["issues"]
        score = result["score"]
        masked = set(result["pii_columns"])
        docs = _data_docs(result["ge_result"], ctx, config, masked)
        families = config.enabled()
        outcomes.append(CheckOutcome(
            "min_quality_score", score >= config.min_quality_score,
            f"quality score {score:.2f} (minimum {config.min_quality_score:g})", config.blocking,
            {"score": score, "min_quality_score": config.min_quality_score,
             "issues_by_family": by_family(issues)}))
        for f in families:
            mine = [i for i in issues if i.family == f]
            meta: dict[str, Any] = {"failing_count": sum(i.count for i in mine),
                                    "issues": summary(mine)[:20]}
            if f == "statistical_anomalies" and "distribution_shift" in result:
                meta["distribution_shift"] = result["distribution_shift"]
            if f == "semantic_issues" and "semantic" in result:
                meta["semantic"] = result["semantic"]
            outcomes.append(CheckOutcome(
                f, not mine, f"{len(mine)} issues, {meta['failing_count']} cells/rows"
                if mine else "no issues", f in config.blocking_families, meta))
        report = {"score": score, "min_quality_score": config.min_quality_score,
                  "issues_by_family": by_family(issues), "issues": summary(issues)[:100],
                  "pii_columns": sorted(masked), "timing": result["timing"],
                  "markdown_label": "quality_report",
                  "markdown": markdown(score, config.min_quality_score, issues, len(frame),
                                       len(frame.columns), families)}
        if "distribution_shift" in result:
            report["distribution_shift"] = result["distribution_shift"]
        if docs:
            report["data_docs"] = docs
        if result["ge_result"] is not None:
            report["ge_statistics"] = dict(result["ge_result"].statistics)
    report |= {"checks": {o.name: o.passed for o in outcomes},
               "passed": all(o.passed for o in outcomes)}
    return StepResult(frame, report, outcomes)


def _infer(config: QualityConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    known = inputs[0]
    check_known(config.not_null, known, "not_null")
    check_known(config.unique, known, "unique")
    for i, rule in enumerate(config.business_rules):
        check_known(rule.columns(), known, f"business_rules[{i}]")
    if config.checks is not None:
        for field, cols in config.checks.columns():
            check_known(cols, known, field)
        for cond in config.checks.invalid_values.logical:
            check_known(sorted(ConditionRule(type="condition", condition=cond).columns()),
                        known, "checks.invalid_values.logical")
    return passthrough_columns(config, inputs, ctx)


register(StepType(
    name="quality_validation", kind="validation", config_model=QualityConfig, run=run,
    description="Rules that become blocking Dagster asset checks (quality gates).",
    kinds=("pandas", "quality"), infer_columns=_infer, check_specs=_checks,
    estimate_rows=lambda c, ins, ctx: ins[0], uses_llm=True, wants_previous=True,
))
