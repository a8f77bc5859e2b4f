"""Rule checks as Great Expectations 1.x expectations on an ephemeral context.

GE is imported lazily (about 4-8 s) and its context is built once per process. Results keep
GE's JSON format; Data Docs HTML is rendered from them with PII columns masked.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd

from datasetgen_assets.quality.pii_regex import mask_text, mask_value
from datasetgen_assets.quality.rules import EnumRule, NotNullRule, RangeRule, RegexRule, UniqueRule

_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def _batch_definition() -> Any:
    """The cached ephemeral context's whole-dataframe batch definition."""
    with _LOCK:
        if "bd" not in _STATE:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            asset = ctx.data_sources.add_pandas("datasetgen").add_dataframe_asset("frame")
            _STATE["bd"] = asset.add_batch_definition_whole_dataframe("whole")
            _STATE["gx"] = gx
        return _STATE["bd"]


def _expectation(gx: Any, rule: Any, index: int) -> Any:
    e = gx.expectations
    meta = {"rule": rule.label(), "severity": rule.severity, "index": index}
    if isinstance(rule, RangeRule):
        return e.ExpectColumnValuesToBeBetween(column=rule.column, min_value=rule.min,
                                               max_value=rule.max, meta=meta)
    if isinstance(rule, RegexRule):
        return e.ExpectColumnValuesToMatchRegex(column=rule.column, regex=rule.pattern, meta=meta)
    if isinstance(rule, EnumRule):
        return e.ExpectColumnValuesToBeInSet(column=rule.column, value_set=rule.values, meta=meta)
    if isinstance(rule, NotNullRule):
        return e.ExpectColumnValuesToNotBeNull(column=rule.column, meta=meta)
    if isinstance(rule, UniqueRule):
        if len(rule.columns_) == 1:
            return e.ExpectColumnValuesToBeUnique(column=rule.columns_[0], meta=meta)
        return e.ExpectCompoundColumnsToBeUnique(column_list=list(rule.columns_), meta=meta)
    raise TypeError(f"no expectation for {type(rule).__name__}")


def prepare(frame: pd.DataFrame, rules: list[Any]) -> tuple[pd.DataFrame, dict[int, int]]:
    """Columns as GE can compare them: range columns numeric (non-numbers counted apart)."""
    out = frame
    non_numeric: dict[int, int] = {}
    for i, rule in enumerate(rules):
        if isinstance(rule, RangeRule) and rule.column in frame.columns \
                and not pd.api.types.is_numeric_dtype(frame[rule.column]):
            if out is frame:
                out = frame.copy(deep=False)
            num = pd.to_numeric(frame[rule.column], errors="coerce")
            non_numeric[i] = int((num.isna() & frame[rule.column].notna()).sum())
            out[rule.column] = num
    return out, non_numeric


def run_rules(frame: pd.DataFrame, rules: list[Any]) -> dict[str, Any]:
    """Validate `rules` on `frame`; returns GE's result object, per-rule counts and timing."""
    started = time.perf_counter()
    bd = _batch_definition()
    gx = _STATE["gx"]
    data, non_numeric = prepare(frame, rules)
    suite = gx.ExpectationSuite(name="datasetgen_rules")
    for i, rule in enumerate(rules):
        suite.add_expectation(_expectation(gx, rule, i))
    batch = bd.get_batch(batch_parameters={"dataframe": data})
    result = batch.validate(suite, result_format={"result_format": "SUMMARY",
                                                  "partial_unexpected_count": 5})
    per_rule = []
    ordered = sorted(result.results, key=lambda r: int(r.expectation_config.meta["index"]))
    for i, (rule, res) in enumerate(zip(rules, ordered, strict=True)):
        info = res.result or {}
        raised = bool(res.exception_info.get("raised_exception")) \
            if isinstance(res.exception_info, dict) else False
        count = int(info.get("unexpected_count") or 0) + non_numeric.get(i, 0)
        if isinstance(rule, NotNullRule):
            count = int(info.get("unexpected_count") or 0)
        per_rule.append({
            "rule": rule, "success": bool(res.success) and not non_numeric.get(i),
            "count": count, "non_numeric": non_numeric.get(i, 0), "error": raised,
            "rows": [int(x) for x in info.get("partial_unexpected_index_list") or []][:5],
            "values": list(info.get("partial_unexpected_list") or [])[:5],
        })
    return {"result": result, "rules": per_rule,
            "seconds": round(time.perf_counter() - started, 4)}


def _mask_result(result: Any, masked: set[str]) -> None:
    """PII columns' values fully masked; PII patterns masked in every other text value."""
    for res in result.results:
        if not res.result:
            continue
        kwargs = res.expectation_config.kwargs
        cols = {kwargs.get("column")} | set(kwargs.get("column_list") or [])

        def hide(v: Any, full: bool = bool(cols & masked)) -> Any:
            return mask_value(v) if full else mask_text(v) if isinstance(v, str) else v

        for key in ("partial_unexpected_list", "unexpected_list"):
            if key in res.result:
                res.result[key] = [hide(v) for v in res.result[key]]
        for key in ("partial_unexpected_counts", "unexpected_counts"):
            if key in res.result:
                res.result[key] = [{**c, "value": hide(c.get("value"))}
                                   for c in res.result[key]]


def write_data_docs(result: Any, path: Path, masked: set[str]) -> str:
    """Render GE's validation result as a Data Docs HTML page (PII columns masked)."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    _mask_result(result, masked)
    html = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(result))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return str(path)


def result_json(result: Any, masked: set[str]) -> dict[str, Any]:
    """GE's result format as JSON, PII columns masked."""
    _mask_result(result, masked)
    return result.to_json_dict()
