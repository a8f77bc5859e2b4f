"""The upload sensor: each new or overwritten file in a pipeline's landing prefix becomes a
dynamic partition and one run, exactly once (run key = object key + ETag)."""

import time
from typing import Any

import dagster as dg

from datasetgen_assets.executors import executor_name
from datasetgen_assets.pipeline.spec import UploadTrigger
from datasetgen_resources.landing import LandingZone
from sensors.cursor import Cursor, plan_tick

MB = 1024 * 1024


def upload_run_request(key: str, etag: str, size: int, pipeline: str,
                       in_process: bool = False) -> dg.RunRequest:
    """The run for one upload; Dagster drops a second request with the same run key."""
    return dg.RunRequest(
        run_key=f"{key}@{etag}",
        partition_key=key,
        run_config={"execution": {"config": {"in_process": {}}}} if in_process else {},
        tags={"datasetgen/pipeline": pipeline, "datasetgen/upload_key": key[:255],
              "datasetgen/upload_etag": etag, "datasetgen/upload_bytes": str(size)},
    )


def build_upload_sensor(pipeline: str, trigger: UploadTrigger, job: Any,
                        partitions: dg.DynamicPartitionsDefinition) -> dg.SensorDefinition:
    """The sensor of one pipeline's `trigger: {upload: ...}`."""

    @dg.sensor(
        name=f"{pipeline}_uploads",
        job=job,
        minimum_interval_seconds=trigger.interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Runs {pipeline} once per file uploaded under '{trigger.prefix}' "
                    f"matching '{trigger.pattern}'.",
    )
    def _uploads(context: dg.SensorEvaluationContext, landing: LandingZone) -> dg.SensorResult:
        started = time.perf_counter()
        plan = plan_tick(landing.list_objects(trigger.prefix), Cursor.load(context.cursor),
                         prefix=trigger.prefix, pattern=trigger.pattern,
                         max_bytes=int(trigger.max_size_mb * MB),
                         max_runs=trigger.max_runs_per_tick)
        for obj, reason in plan.skipped:
            context.log.warning(f"upload skipped: {obj.key}: {reason}")
        in_process = trigger.in_process and executor_name() == "multiprocess"  # the default
        runs = [upload_run_request(o.key, o.etag, o.size, pipeline, in_process)
                for o in plan.to_run]
        context.log.info(f"{len(runs)} new uploads, {len(plan.skipped)} skipped, "
                         f"{plan.waiting} waiting; tick {time.perf_counter() - started:.2f}s")
        adds = [partitions.build_add_request([o.key for o in plan.to_run])] if runs else []
        skip = None
        if not runs:
            skip = "no new uploads" + (f" ({len(plan.skipped)} skipped: "
                                       + "; ".join(f"{o.key}: {r}" for o, r in plan.skipped[:5])
                                       + ")" if plan.skipped else "")
        return dg.SensorResult(run_requests=runs, dynamic_partitions_requests=adds,
                               cursor=plan.cursor.dump(), skip_reason=skip)

    return _uploads
