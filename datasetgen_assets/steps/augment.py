"""`augment` transform: the input plus synthetic rows like it (or the synthetic rows alone),
with a fidelity and privacy report and a blocking `fidelity` asset check."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field, model_validator

from datasetgen_assets.steps.registry import (
    CheckOutcome,
    Columns,
    StepConfig,
    StepContext,
    StepResult,
    StepType,
    register,
)
from datasetgen_assets.synth.augment import FLAG, augment, target_rows


class AugmentConfig(StepConfig):
    """Config of the `augment` step."""

    rows: int | None = Field(None, gt=0, description="Synthetic rows to generate.")
    ratio: float | None = Field(None, gt=0, description="Or: synthetic rows per input row.")
    output: Literal["merged", "synthetic"] = Field(
        "merged", description=f"merged: input rows + synthetic rows with a boolean `{FLAG}` "
        "column; synthetic: the synthetic rows only.")
    seed: int = Field(0, description="Random seed: same seed, same rows.")
    model: Literal["cart", "copula"] = Field("cart", description="cart (sequential trees, "
                                             "default) or copula (Gaussian copula).")
    holdout: float = Field(0.2, ge=0, lt=0.9, description="Share of input rows held out of "
                           "the fit for the distance-to-closest-record privacy check.")
    min_quality: float = Field(0.8, ge=0, le=1, description="Fidelity check: minimum quality "
                               "score (SDMetrics QualityReport method).")
    max_exact_copies: int = Field(0, ge=0, description="Fidelity check: synthetic rows allowed "
                                  "to equal a real row (copies are redrawn up to this).")
    max_dcr_closer_share: float = Field(
        0.7, gt=0, le=1, description="Fidelity check: maximum share of synthetic rows closer "
        "to the training rows than to the holdout (0.5 = no memorization).")
    blocking: bool = Field(True, description="A failed fidelity check stops downstream steps.")

    @model_validator(mode="after")
    def _one_size(self) -> AugmentConfig:
        if self.rows is None and self.ratio is None:
            raise ValueError("set 'rows' (e.g. rows: 1000) or 'ratio' (e.g. ratio: 2.0)")
        if self.rows is not None and self.ratio is not None:
            raise ValueError("set only one of 'rows' and 'ratio'")
        return self


def run(inputs: list[pd.DataFrame], config: AugmentConfig, ctx: StepContext) -> StepResult:
    """Augment the input; the report becomes asset metadata, the thresholds the check."""
    frame = inputs[0]
    where = f"step '{ctx.step_id}'"
    n = target_rows(len(frame), config.rows, config.ratio, where)
    result = augment(frame, rows=n, output=config.output, seed=config.seed,
                     holdout=config.holdout, method=config.model,
                     max_exact_copies=config.max_exact_copies,
                     source=f"the input of {where}", progress=ctx.log.info)
    report = result.report
    for warning in report["warnings"]:
        ctx.log.warning(warning)
    return StepResult(result.frame, report, [fidelity_check(report, config)])


def fidelity_check(report: dict, config: AugmentConfig) -> CheckOutcome:
    """Pass when quality, exact copies and the DCR share are within the thresholds."""
    problems = []
    score = report["quality_score"]
    if score is not None and score < config.min_quality:
        problems.append(f"quality score {score:.3f} < min_quality {config.min_quality:g}")
    if report["exact_copies"] > config.max_exact_copies:
        problems.append(f"{report['exact_copies']} exact copies of real rows > "
                        f"max_exact_copies {config.max_exact_copies}")
    closer = report["privacy"].get("closer_to_training")
    if closer is not None and closer > config.max_dcr_closer_share:
        problems.append(f"{closer:.1%} of synthetic rows are closer to the training rows than "
                        f"to the holdout > max_dcr_closer_share {config.max_dcr_closer_share:g}"
                        " (the model memorizes rows)")
    desc = "; ".join(problems) if problems else (
        f"quality {_f(score)}, {report['exact_copies']} exact copies, "
        f"{'n/a' if closer is None else f'{closer:.0%}'} closer to training")
    return CheckOutcome("fidelity", not problems, desc, config.blocking, {
        "quality_score": score, "column_shapes": report["column_shapes"],
        "column_pair_trends": report["column_pair_trends"],
        "exact_copies": report["exact_copies"], "closer_to_training": closer,
        "min_quality": config.min_quality, "max_exact_copies": config.max_exact_copies,
        "max_dcr_closer_share": config.max_dcr_closer_share})


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _infer(config: AugmentConfig, inputs: list[Columns], ctx: StepContext) -> Columns:
    known = inputs[0] if inputs else None
    if known is None:
        return None
    return [*known, FLAG] if config.output == "merged" else list(known)


def _estimate(config: AugmentConfig, inputs: list[int | None], ctx: StepContext) -> int | None:
    real = inputs[0] if inputs else None
    if config.rows is not None:
        return config.rows + (real or 0) if config.output == "merged" else config.rows
    if real is None or config.ratio is None:
        return None
    n = round(real * config.ratio)
    return n + real if config.output == "merged" else n


def _checks(config: AugmentConfig) -> list[tuple[str, bool, str]]:
    return [("fidelity", config.blocking,
             f"quality >= {config.min_quality:g}, exact copies <= {config.max_exact_copies}, "
             f"closer-to-training share <= {config.max_dcr_closer_share:g}")]


register(StepType(
    name="augment", kind="transform", config_model=AugmentConfig, run=run,
    description="Synthetic rows like the input (types, formats, distributions, correlations; "
    "fresh ids and PII), merged with a `_synthetic` flag or alone; fidelity and privacy "
    "report; blocking `fidelity` check.",
    kinds=("pandas", "synthetic"), infer_columns=_infer, estimate_rows=_estimate,
    check_specs=_checks,
))
