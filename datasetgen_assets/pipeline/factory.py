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
from datasetgen_assets.executors import executor_for_env
from datasetgen_assets.pipeline import progress
from datasetgen_assets.pipeline.execute import run_node
from datasetgen_assets.pipeline.metadata import step_metadata
from datasetgen_assets.pipeline.optimizer import Plan, PlanNode, optimize
from datasetgen_assets.pipeline.spec import Pipeline
from datasetgen_assets.steps.registry import REGISTRY

LLM_POOL = "llm"  # the Dagster pool of LLM steps; its limit is set in dagster.yaml
IO_RETRY = dg.RetryPolicy(max_retries=2, delay=1.0, backoff=dg.Backoff.EXPONENTIAL)


def asset_key(pipeline: str, step_id: str) -> dg.AssetKey:
    return dg.AssetKey([pipeline, step_id])


def _description(pipeline: Pipeline, node: PlanNode) -> str:
    step = pipeline.step(node.id)
    st = REGISTRY[node.type]
    text = step.description or st.description
    return f"{text}\n\nStep `{node.id}` (type `{node.type}`) of pipeline `{pipeline.name}` " \
           f"({pipeline.file})."


def previous_output(instance: dg.DagsterInstance, key: dg.AssetKey, log: Any) -> Any:
    """The asset's last stored output (for comparisons such as distribution shift), read from
    the path its latest materialization recorded; None when there is none or it is gone."""
    from datasetgen_resources.storage import read_parquet

    event = instance.get_latest_materialization_event(key)
    mat = event.asset_materialization if event else None
    path = mat.metadata.get("path") if mat else None
    if path is None:
        return None
    try:
        return read_parquet(str(path.value))
    except Exception as exc:  # a comparison baseline is optional
        log.warning(f"previous output of {key.to_user_string()} unreadable: "
                    f"{type(exc).__name__}")
        return None


def build_asset(plan: Plan, node: PlanNode,
                partitions: dg.PartitionsDefinition | None = None) -> dg.AssetsDefinition:
    """One step as a Dagster asset (partitioned per upload when the pipeline has an upload
    trigger)."""
    pipeline = plan.pipeline
    st = REGISTRY[node.type]
    key = asset_key(pipeline.name, node.id)
    ins = {f"in_{i}": dg.AssetIn(key=asset_key(pipeline.name, dep))
           for i, dep in enumerate(node.inputs)}
    checks = [dg.AssetCheckSpec(name, asset=key, blocking=blocking, description=desc)
              for name, blocking, desc in st.check_specs(node.config)]
    plan_note = node.describe()
    uploads = pipeline.spec.upload is not None
    uses_llm = st.needs_llm(node.config)
    resource_keys = ({"landing"} if uploads else set()) | ({"llm"} if uses_llm else set())

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
        partitions_def=partitions,
        required_resource_keys=resource_keys or None,
        pool=LLM_POOL if uses_llm else None,  # caps LLM steps across runs
    )
    def _compute(context, **kwargs: Any) -> Iterator[Any]:  # context: dagster checks its hint
        frames = [kwargs[f"in_{i}"] for i in range(len(node.inputs))]
        partition = context.partition_key if context.has_partition_key else None
        ctx = pipeline.context(node.id, partition_key=partition)
        ctx.log = context.log  # type: ignore[assignment]
        if uploads and partition is not None:
            ctx.upload_url = context.resources.landing.url_for(partition)
        if st.wants_previous:
            ctx.previous = previous_output(context.instance, key, context.log)
        if uses_llm:  # a per-step child client: its usage is this asset's
            ctx.llm = context.resources.llm.get_client().child()
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
        metadata = step_metadata(result.frame, result.report, plan_note)
        if uses_llm:
            from datasetgen_resources.llm.resource import llm_metadata

            metadata.update(llm_metadata(ctx.llm))
        yield dg.Output(result.frame, metadata=metadata)
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
    trigger = pipeline.spec.upload
    partitions = (dg.DynamicPartitionsDefinition(name=f"{pipeline.name}_uploads")
                  if trigger else None)
    assets = [build_asset(plan, node, partitions) for node in plan.nodes.values()]
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
    sensors = []
    if trigger is not None and partitions is not None:
        from sensors.uploads import build_upload_sensor

        sensors.append(build_upload_sensor(pipeline.name, trigger, job, partitions))
    return {"plan": plan, "assets": assets, "jobs": [job], "schedules": schedules,
            "sensors": sensors}


def build_definitions(pipelines: list[Pipeline], resources: dict[str, Any],
                      sensors: list[Any] | None = None) -> dg.Definitions:
    """Everything of every pipeline, as one Definitions object."""
    assets: list[Any] = []
    jobs: list[Any] = []
    schedules: list[Any] = []
    all_sensors = list(sensors or [])
    for p in pipelines:
        built = build_pipeline(p)
        assets += built["assets"]
        jobs += built["jobs"]
        schedules += built["schedules"]
        all_sensors += built["sensors"]
    return dg.Definitions(assets=assets, jobs=jobs, schedules=schedules, sensors=all_sensors,
                          resources=resources, executor=executor_for_env())
