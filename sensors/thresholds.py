"""Alert thresholds: `alerts.yaml` in the project folder, or $DATASETGEN_ALERTS_FILE, over
defaults. Every rule can be switched off with `enabled: false`.

```yaml
llm_cost:     {daily_limit_usd: 50}             # LLM spend per UTC day, all pipelines
success_rate: {min: 0.8, window_hours: 24, min_runs: 3}   # per pipeline, finished runs
run_time:     {factor: 1.5, baseline_runs: 10, min_baseline_runs: 3}
quality_drop: {min_drop: 5}                     # score points (0-100) vs the previous one
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from datasetgen_assets.errors import PipelineError

ALERTS_FILE_ENV = "DATASETGEN_ALERTS_FILE"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


class LLMCost(_Rule):
    daily_limit_usd: float = Field(50.0, gt=0, description="Alert when a UTC day's LLM cost "
                                                          "exceeds this (USD).")


class SuccessRate(_Rule):
    min: float = Field(0.8, ge=0, le=1, description="Lowest acceptable share of successful "
                                                    "finished runs of a pipeline.")
    window_hours: float = Field(24.0, gt=0, description="Runs created within this window count.")
    min_runs: int = Field(3, ge=1, description="Fewer finished runs than this: no verdict.")


class RunTime(_Rule):
    factor: float = Field(1.5, gt=1, description="Alert when a run takes longer than factor x "
                                                 "its pipeline's baseline.")
    baseline_runs: int = Field(10, ge=1, description="Baseline: median duration of the last N "
                                                     "successful runs.")
    min_baseline_runs: int = Field(3, ge=1, description="Fewer successful runs: no baseline.")


class QualityDrop(_Rule):
    min_drop: float = Field(5.0, gt=0, description="Alert when a dataset's quality score falls "
                                                   "this many points below its previous one.")


class AlertThresholds(BaseModel):
    """The alert rules' settings."""

    model_config = ConfigDict(extra="forbid")
    llm_cost: LLMCost = LLMCost()
    success_rate: SuccessRate = SuccessRate()
    run_time: RunTime = RunTime()
    quality_drop: QualityDrop = QualityDrop()


def alerts_file() -> Path:
    """$DATASETGEN_ALERTS_FILE, else alerts.yaml in $DATASETGEN_PROJECT_DIR (or the cwd)."""
    env = os.environ.get(ALERTS_FILE_ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("DATASETGEN_PROJECT_DIR") or Path.cwd()) / "alerts.yaml"


def parse_thresholds(text: str, file: str = "alerts.yaml") -> AlertThresholds:
    """Thresholds from YAML text; PipelineError naming the file and field on bad input."""
    try:
        data: Any = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PipelineError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=file,
                            line=mark.line + 1 if mark else None,
                            fix="check indentation and quoting") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PipelineError("must be a mapping of rule -> settings", file=file,
                            fix="e.g. 'llm_cost: {daily_limit_usd: 50}'")
    try:
        return AlertThresholds.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        fix = (f"known rules: {', '.join(AlertThresholds.model_fields)}" if len(err["loc"]) == 1
               and err["type"] == "extra_forbidden" else
               "remove it or fix its spelling" if err["type"] == "extra_forbidden" else
               "see the settings in sensors/thresholds.py")
        raise PipelineError(err["msg"], file=file, field=field, fix=fix) from None


def load_thresholds(path: Path | None = None) -> AlertThresholds:
    """The thresholds of `path` (default `alerts_file()`); defaults when the default file is
    missing, an error when an explicitly named file is."""
    explicit = path is not None or bool(os.environ.get(ALERTS_FILE_ENV))
    path = path or alerts_file()
    if not path.exists():
        if explicit:
            raise PipelineError("alerts file does not exist", file=str(path),
                                fix=f"create it or unset ${ALERTS_FILE_ENV}")
        return AlertThresholds()
    return parse_thresholds(path.read_text(), file=str(path))
