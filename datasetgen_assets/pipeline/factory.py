"""The asset factory: pipelines -> Dagster assets, asset checks, jobs and schedules.

One asset per step, keyed [pipeline, step id], grouped by pipeline, with dependencies from
`depends_on`. A step's gates become asset checks (blocking ones stop downstream steps).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg

from datasetgen_assets.errors import DatasetGenError
from datasetgen_assets.pipeline import progress
from datasetgen_assets.pipeline.execute import run_node
from datasetgen_assets.pipeline.metadata import step_metadata
from datasetgen_assets.pipeline.optimizer import Plan, PlanNode, optimize
from datasetgen_assets.pipeline.spec import Pipeline
from datasetgen_assets.steps.registry import REGISTRY

IO_RETRY = dg.RetryPolicy(max_retries=2, delay=1.0, backoff=dg.Backoff.EXPONENTIAL)


def asset_key(pipeline: str, step_id: str) -> dg.AssetKey:
    return dg.AssetKey([pipeline, step_id])


def _description(pipeline: Pipeline, node: PlanNode) -> str:
    step = pipeline.step(node.id)
    st = REGISTRY[node.type]
    text = step.description or st.description
    return f"{text}\n\nStep `{node.id}` (type `{node.type}`) of pipeline `{pipeline.name}` " \
           f"({pipeline.file})."


def build_asset(plan: Plan, node: PlanNode) -> dg.AssetsDefinition:
    """One step as a Dagster asset."""
    pipeline = plan.pipeline
    st = REGISTRY[node.type]
    key = asset_key(pipeline.name, node.id)
    ins = {f"in_{i}": dg.AssetIn(key=asset_key(pipeline.name, dep))
           for i, dep in enumerate(node.inputs)}
    checks = [dg.AssetCheckSpec(name, asset=key, blocking=blocking, description=desc)
              for name, blocking, desc in st.check_specs(node.config)]
    plan_note = node.describe()

    @dg.asset(
        key=key,
        ins=ins,
        group_name=pipeline.name,
        description=_description(pipeline, node),
        kinds=set(st.kinds[:3]),
        owners=pipeline.spec.owners or None,
        check_specs=checks or None,
        retry_policy=IO_RETRY if st.kind in {"source", "sink"} else None,
        metadata={
            "step_type": st.name,
            "pipeline_file": pipeline.file,
            "config": dg.MetadataValue.json(json.loads(node.config.model_dump_json())),
        },
        tags={"datasetgen/step_kind": st.kind},
    )
    def _compute(context, **kwargs: Any) -> Iterator[Any]:  # context: dagster checks its hint
        frames = [kwargs[f"in_{i}"] for i in range(len(node.inputs))]
        partition = context.partition_key if context.has_partition_key else None
        ctx = pipeline.context(node.id, partition_key=partition)
        ctx.log = context.log  # type: ignore[assignment]
        label = f"{pipeline.name}/{node.id}"
        progress.emit("start", label, type=node.type)
        try:
            result = run_node(node, frames, ctx)
        except DatasetGenError as exc:
            progress.emit("failed", label, error=str(exc))
            raise dg.Failure(
                description=f"{pipeline.file}: step '{node.id}' ({node.type}): {exc}",
                allow_retries=False,
            ) from None
        except Exception as exc:
            progress.emit("failed", label, error=str(exc))
            raise
        progress.emit("done", label, rows=len(result.frame),
                      seconds=result.report.get("seconds"))
        yield dg.Output(result.frame, metadata=step_metadata(result.frame, result.report,
                                                             plan_note))
        declared = {c.name for c in checks}
        for outcome in result.checks:
            if outcome.name not in declared:
                continue
            yield dg.AssetCheckResult(
                check_name=outcome.name,
                passed=outcome.passed,
                severity=dg.AssetCheckSeverity.ERROR if outcome.blocking
                else dg.AssetCheckSeverity.WARN,
                description=outcome.description,
                metadata={k: dg.MetadataValue.json(v) if isinstance(v, dict | list) else v
                          for k, v in outcome.metadata.items()},
            )

    return _compute


def build_pipeline(pipeline: Pipeline, optimized: bool = True) -> dict[str, Any]:
    """Assets, job and schedule of one pipeline."""
    plan = optimize(pipeline, enabled=optimized)
    assets = [build_asset(plan, node) for node in plan.nodes.values()]
    job = dg.define_asset_job(
        name=f"{pipeline.name}_job",
        selection=dg.AssetSelection.groups(pipeline.name),
        description=pipeline.spec.description or f"Materialize pipeline {pipeline.name}.",
        tags={**pipeline.spec.tags, "datasetgen/pipeline": pipeline.name},
    )
    schedules = []
    if pipeline.spec.schedule:
        schedules.append(dg.ScheduleDefinition(
            name=f"{pipeline.name}_schedule",
            job=job,
            cron_schedule=pipeline.spec.schedule,
            execution_timezone=pipeline.spec.timezone,
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=f"From `schedule:` in {pipeline.file}.",
        ))
    return {"plan": plan, "assets": assets, "jobs": [job], "schedules": schedules}


def build_definitions(pipelines: list[Pipeline], resources: dict[str, Any],
                      sensors: list[Any] | None = None) -> dg.Definitions:
    """Everything of every pipeline, as one Definitions object."""
    assets: list[Any] = []
    jobs: list[Any] = []
    schedules: list[Any] = []
    for p in pipelines:
        built = build_pipeline(p)
        assets += built["assets"]
        jobs += built["jobs"]
        schedules += built["schedules"]
    return dg.Definitions(assets=assets, jobs=jobs, schedules=schedules, sensors=sensors or [],
                          resources=resources)
