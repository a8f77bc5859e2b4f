"""The Dagster code location: every pipeline file -> assets, checks, jobs, schedules."""

from datasetgen_assets.pipeline.factory import build_definitions
from datasetgen_assets.pipeline.spec import discover_pipelines
from datasetgen_resources import datasetgen_resources
from sensors import all_sensors

defs = build_definitions(discover_pipelines(), datasetgen_resources(), all_sensors())
