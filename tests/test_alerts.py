"""Alert sensors: failed quality checks and failed runs reach the log and the webhook."""

from __future__ import annotations

import json

import dagster as dg

from datasetgen_assets.pipeline.factory import build_pipeline
from datasetgen_assets.pipeline.spec import parse_pipeline
from datasetgen_resources import datasetgen_resources
from sensors.alerts import deliver, failure_payload, quality_failure_alert


def _gate_run(instance, tmp_path, rows: str) -> bool:
    (tmp_path / "d.csv").write_text("email,id\n" + rows)
    p = parse_pipeline(f"""
name: gate
steps:
  - {{id: s, type: csv, config: {{path: {tmp_path}/d.csv}}}}
  - {{id: q, type: quality_validation, depends_on: [s], config: {{unique: [id]}}}}
""", file="gate.yaml", base_dir=tmp_path)
    return dg.materialize(build_pipeline(p)["assets"], instance=instance, raise_on_error=False,
                          resources=datasetgen_resources(str(tmp_path / "a"))).success


def test_failed_quality_check_alerts_once_without_values(webhook, tmp_path):
    with dg.DagsterInstance.ephemeral() as instance:
        assert not _gate_run(instance, tmp_path, "old@example.com,1\nold@example.com,1\n")
        ctx = dg.build_sensor_context(instance=instance)
        quality_failure_alert(ctx)  # first tick: starts watching, no alert for history
        assert webhook == []
        assert _gate_run(instance, tmp_path, "a@example.com,1\nb@example.com,2\n")
        assert not _gate_run(instance, tmp_path, "alice@example.com,7\nbob@example.com,7\n")
        ctx = dg.build_sensor_context(instance=instance, cursor=ctx.cursor)
        result = quality_failure_alert(ctx)
        assert "1 failed" in result.skip_message
        [alert] = webhook
        assert alert["event"] == "quality_check_failed" and "'unique'" in alert["message"]
        assert "gate/q" in alert["message"] and "alice" not in json.dumps(alert)
        quality_failure_alert(dg.build_sensor_context(instance=instance, cursor=ctx.cursor))
        assert len(webhook) == 1  # nothing new, nothing sent


def test_deliver_logs_and_survives_a_dead_webhook(monkeypatch, caplog):
    import logging

    log = logging.getLogger("alerts-test")
    monkeypatch.setenv("DATASETGEN_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nothing")
    with caplog.at_level(logging.WARNING, logger="alerts-test"):
        assert deliver(failure_payload("job", "run1", "boom"), log) is False
    assert "ALERT run_failed: job job run run1: boom" in caplog.text
    assert "alert webhook failed" in caplog.text
