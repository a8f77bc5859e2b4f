"""`fuzzy_join`: match rows of two inputs whose keys are written differently. Blocking with
rapidfuzz proposes the top candidates per left row; clear matches are accepted by score,
and only ambiguous pairs go to the LLM. The report says how many comparisons each stage
made."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.llm_process import LLMOptions, call_llm, jsonable_row, usage_report
from datasetgen_assets.steps.registry import (
    Columns,
    StepContext,
    StepResult,
    StepType,
    check_known,
    register,
)

SCHEMA = {"type": "object",
          "properties": {"same": {"type": "boolean"},
                         "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
          "required": ["same", "confidence"], "additionalProperties": False}
Scorer = Literal["token_sort_ratio", "token_set_ratio", "ratio", "partial_ratio", "WRatio"]


class FuzzyJoinConfig(LLMOptions):
    left_on: str
    right_on: str
    how: Literal["left", "inner"] = "left"
    scorer: Scorer = "token_sort_ratio"
    candidates: int = Field(3, ge=1, le=20, description="top candidates per left row")
    min_score: float = Field(60, ge=0, le=100, description="blocking: below is no match")
    accept_score: float = Field(95, ge=0, le=100, description="at or above: match, no LLM")
    use_llm: bool = Field(True, description="ask the LLM about ambiguous pairs; false: take"
                          " the best candidate at or above min_score")
    context_columns: list[str] = Field(default_factory=list, description="extra columns"
                                       " (present in either input) shown to the LLM")
    entity: str = Field("record", description="what a row is, for the LLM: company, product")
    suffix: str = "_right"
    score_column: str = "_match_score"
    method_column: str = "_match_method"

    @model_validator(mode="after")
    def _scores(self) -> FuzzyJoinConfig:
        if self.accept_score < self.min_score:
            raise ValueError("accept_score must be >= min_score")
        return self


def _norm(v: Any) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def run(inputs: list[pd.DataFrame], config: FuzzyJoinConfig, ctx: StepContext) -> StepResult:
    from rapidfuzz import fuzz, process, utils

    left, right = inputs
    for frame, col, side in ((left, config.left_on, "left"), (right, config.right_on, "right")):
        if col not in frame.columns:
            raise StepInputError(f"fuzzy_join: the {side} input has no column '{col}'",
                                 fix=f"use one of {', '.join(map(str, frame.columns))}")
    scorer = getattr(fuzz, config.scorer)
    lvals = [_norm(v) for v in left[config.left_on]]
    rvals = [_norm(v) for v in right[config.right_on]]
    matches: list[tuple[int | None, float | None, str | None]] = []
    ambiguous: list[tuple[int, list[tuple[int, float]]]] = []
    candidate_pairs = 0
    for li, text in enumerate(lvals):
        cands = process.extract(text, rvals, scorer=scorer, limit=config.candidates,
                                score_cutoff=config.min_score,
                                processor=utils.default_process) if text else []
        cands = [(int(j), float(s)) for _, s, j in cands]
        candidate_pairs += len(cands)
        if not cands:
            matches.append((None, None, None))
        elif cands[0][1] >= config.accept_score or not config.use_llm:
            matches.append((cands[0][0], cands[0][1], "fuzzy"))
        else:
            matches.append((None, None, None))
            ambiguous.append((li, cands))
    report: dict[str, Any] = {"left_rows": len(left), "right_rows": len(right),
                              "fuzzy_comparisons": len(lvals) * len(rvals),
                              "candidate_pairs": candidate_pairs,
                              "accepted_by_score": sum(m[2] == "fuzzy" for m in matches)}
    pairs: list[tuple[int, int, float]] = [(li, rj, s) for li, cands in ambiguous
                                           for rj, s in cands]
    report["llm_comparisons"] = len(pairs)
    if pairs:
        lrec = left.to_dict(orient="records")
        rrec = right.to_dict(orient="records")
        ctx_cols = config.context_columns

        def side(rec: dict[str, Any], key: str) -> dict[str, Any]:
            return jsonable_row({key: rec.get(key), **{c: rec[c] for c in ctx_cols if c in rec}})
        rows = [{"a": side(lrec[li], config.left_on), "b": side(rrec[rj], config.right_on)}
                for li, rj, _ in pairs]
        instruction = (f"Do a and b describe the same {config.entity}? Answer same=true or"
                       " false, with your confidence between 0 and 1.")
        res = call_llm(ctx, rows, instruction, SCHEMA, config)
        decided: dict[int, tuple[int, float]] = {}
        errors = 0
        for (li, rj, s), r in zip(pairs, res.results, strict=True):
            if "_error" in r:
                errors += 1
            elif r["same"] and (li not in decided or s > decided[li][1]):
                decided[li] = (rj, s)
        for li, (rj, s) in decided.items():
            matches[li] = (rj, s, "llm")
        report.update({"matched_by_llm": len(decided), "llm_errors": errors,
                       "llm": usage_report(res.usage)})
    right_cols = {c: (c if c not in left.columns else f"{c}{config.suffix}")
                  for c in right.columns}
    keep_rows = [i for i, m in enumerate(matches) if m[0] is not None or config.how == "left"]
    out = left.iloc[keep_rows].reset_index(drop=True)
    picked = [matches[i][0] for i in keep_rows]
    rsub = right.reset_index(drop=True).rename(columns=right_cols)
    for c in rsub.columns:
        vals = [rsub[c].iloc[j] if j is not None else None for j in picked]
        out[c] = pd.Series(vals, dtype=object).infer_objects()
    out[config.score_column] = [matches[i][1] for i in keep_rows]
    out[config.method_column] = [matches[i][2] for i in keep_rows]
    report.update({"rows_out": len(out), "unmatched": sum(m[0] is None for m in matches)})
    return StepResult(out, report)


def _infer(config: FuzzyJoinConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    check_known([config.left_on], inputs[0], "left_on")
    check_known([config.right_on], inputs[1], "right_on")
    if inputs[0] is None or inputs[1] is None:
        return None
    left = list(inputs[0])
    right = [c if c not in left else f"{c}{config.suffix}" for c in inputs[1]]
    return [*left, *right, config.score_column, config.method_column]


register(StepType(
    name="fuzzy_join", kind="transform", config_model=FuzzyJoinConfig, run=run,
    description="Join two inputs on similar (not equal) keys: rapidfuzz blocking, LLM for"
                " ambiguous pairs.",
    min_inputs=2, max_inputs=2, kinds=("pandas", "llm"), infer_columns=_infer,
    estimate_rows=lambda config, ins, ctx: ins[0], uses_llm=True,
))
