"""DatasetGen: YAML pipelines compiled into Dagster software-defined assets."""
