"""Compute one plan node from its input frames; the same code serves Dagster assets and tests."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from datasetgen_assets.pipeline.optimizer import Plan, PlanNode
from datasetgen_assets.steps.filter import apply_conditions
from datasetgen_assets.steps.registry import REGISTRY, StepContext, StepResult


def run_node(node: PlanNode, inputs: list[pd.DataFrame], ctx: StepContext) -> StepResult:
    """Apply pushed-down filters, the step function, restored column order and projection."""
    started = time.perf_counter()
    frames = [apply_conditions(f, node.input_filters.get(i, [])) for i, f in enumerate(inputs)]
    row_cols: list[str] = []
    if node.input_order:  # join in another order, then restore the written row order
        row_cols = [f"__datasetgen_row_{i}" for i in range(len(frames))]
        frames = [f.assign(**{c: np.arange(len(f))}) for f, c in zip(frames, row_cols, strict=True)]
        frames = [frames[i] for i in node.input_order]
    if node.passthrough:
        result = StepResult(frames[0], {"rows": len(frames[0]),
                                        "note": "condition was applied further upstream"})
    else:
        result = REGISTRY[node.type].run(frames, node.config, ctx)
    frame = result.frame
    if row_cols:
        frame = frame.sort_values(row_cols, kind="stable").drop(columns=row_cols)
        frame = frame.reset_index(drop=True)
    if node.output_columns is not None:  # the written column order (some may be projected away)
        first = [c for c in node.output_columns if c in frame.columns]
        frame = frame[first + [c for c in frame.columns if c not in set(first)]]
    if node.output_filters:
        before = len(frame)
        frame = apply_conditions(frame, node.output_filters)
        result.report["pushed_down_filters"] = {"conditions": node.output_filters,
                                                "rows_removed": before - len(frame)}
    if node.keep_columns is not None:
        keep = set(node.keep_columns)
        frame = frame[[c for c in frame.columns if c in keep]]
    result.frame = frame
    result.report.setdefault("seconds", round(time.perf_counter() - started, 4))
    return result


def run_plan(plan: Plan) -> dict[str, pd.DataFrame]:
    """Compute every node in memory, in order (no Dagster): for tests and quick checks."""
    out: dict[str, pd.DataFrame] = {}
    for node in plan.nodes.values():
        ctx = plan.pipeline.context(node.id)
        out[node.id] = run_node(node, [out[i] for i in node.inputs], ctx).frame
    return out
