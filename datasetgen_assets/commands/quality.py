"""`datasetgen quality FILE --rules RULES.yaml`: the quality score and the issues by family."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import yaml

from datasetgen_assets.cli import console, err, main
from datasetgen_assets.commands.pii import read_table
from datasetgen_assets.errors import DatasetGenError


@main.command("quality")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--rules", "rules", type=click.Path(exists=True, dir_okay=False),
              help="YAML with the config of a quality_validation step.")
@click.option("--min-score", type=click.FloatRange(0, 100), default=None,
              help="Exit 1 below this score (default: the rules' min_quality_score).")
@click.option("--previous", type=click.Path(exists=True, dir_okay=False),
              help="An earlier version of FILE, for distribution shift.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def quality_command(file: str, rules: str | None, min_score: float | None,
                    previous: str | None, as_json: bool) -> None:
    """Score FILE's quality; exits 1 below --min-score, 2 on bad input or rules."""
    from pydantic import ValidationError

    from datasetgen_assets.steps.quality_validation import QualityConfig, assess
    from datasetgen_assets.steps.registry import StepContext

    raw = yaml.safe_load(Path(rules).read_text()) if rules else {}
    raw = (raw or {}).get("config", raw or {})
    if min_score is not None:
        raw["min_quality_score"] = min_score
    raw.setdefault("min_quality_score", 0.0)
    try:
        config = QualityConfig.model_validate(raw)
        frame = read_table(file)
        ctx = StepContext(step_id="quality", base_dir=Path.cwd(),
                          previous=read_table(previous) if previous else None)
        result = assess(frame, config, ctx)
    except (ValidationError, DatasetGenError, ValueError) as exc:
        err.print(f"✗ {file}: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    score = result["score"]
    passed = score >= config.min_quality_score
    from datasetgen_assets.quality.report import by_family, markdown

    if as_json:
        click.echo(json.dumps({
            "file": file, "rows": len(frame), "columns": len(frame.columns), "score": score,
            "min_quality_score": config.min_quality_score, "passed": passed,
            "by_family": by_family(result["issues"]),
            "issues": [i.as_dict() for i in result["issues"]]}, default=str))
    else:
        console.print(markdown(score, config.min_quality_score, result["issues"], len(frame),
                               len(frame.columns), config.enabled()), markup=False)
    sys.exit(0 if passed else 1)
