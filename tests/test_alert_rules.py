"""Threshold alerts: each rule fires on injected failures/records in a real (ephemeral) Dagster
instance, once per condition and window, to the log, a local webhook and a local SMTP server;
thresholds come from alerts.yaml with clear errors."""

from __future__ import annotations

import json
import socket
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from datasetgen_api.analytics import Materialization, Records, RunInfo
from datasetgen_assets.errors import PipelineError
from sensors.alert_rules import (
    baseline,
    llm_cost_alert,
    quality_drop_alert,
    quality_drop_alerts,
    run_time_alert,
    run_time_alerts,
    success_rate_alert,
    success_rate_alerts,
    tick,
)
from sensors.alerts import deliver
from sensors.thresholds import AlertThresholds, load_thresholds, parse_thresholds


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch):
    """A local aiosmtpd server; the alert email settings point at it."""
    from aiosmtpd.controller import Controller

    mails: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mails.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("DATASETGEN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DATASETGEN_SMTP_PORT", str(port))
    monkeypatch.setenv("DATASETGEN_SMTP_FROM", "alerts@datasetgen.test")
    monkeypatch.setenv("DATASETGEN_SMTP_TO", "ops@datasetgen.test, oncall@datasetgen.test")
    yield mails
    controller.stop()


@pytest.fixture
def alerts_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def write(text: str) -> Path:
        path = tmp_path / "alerts.yaml"
        path.write_text(text)
        monkeypatch.setenv("DATASETGEN_ALERTS_FILE", str(path))
        return path

    return write


@dg.op(config_schema={"fail": bool, "sleep": float})
def work(context) -> None:  # no hint: dagster rejects the string annotation
    time.sleep(context.op_config["sleep"])
    if context.op_config["fail"]:
        raise RuntimeError("injected failure")


@dg.job
def flaky_job() -> None:
    work()


def _run(instance: dg.DagsterInstance, job: dg.JobDefinition, fail: bool = False,
         sleep: float = 0.0) -> bool:
    return job.execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"ops": {"work": {"config": {"fail": fail, "sleep": sleep}}}}).success


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance,
          cursor: str | None) -> tuple[str, str | None]:
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor)
    result = sensor(ctx)
    return result.skip_message, ctx.cursor


def _report(instance: dg.DagsterInstance, key: list[str], **metadata: Any) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(
        asset_key=key, metadata={k: dg.MetadataValue.json(v) if isinstance(v, dict) else v
                                 for k, v in metadata.items()}))


def test_success_rate_alert_on_failed_runs_reaches_log_webhook_and_email(
        webhook: list, smtp: list, alerts_yaml: Any, capfd: pytest.CaptureFixture) -> None:
    alerts_yaml("success_rate: {min: 0.8, min_runs: 3}\n")
    with dg.DagsterInstance.ephemeral() as instance:
        assert _run(instance, flaky_job)
        message, cursor = _tick(success_rate_alert, instance, None)
        assert "started watching" in message and webhook == []
        for _ in range(3):
            assert not _run(instance, flaky_job, fail=True)
        capfd.readouterr()
        message, cursor = _tick(success_rate_alert, instance, cursor)
        logged = "".join(capfd.readouterr())
        assert message == "1 alert(s) sent"
        [alert] = webhook
        assert alert["event"] == "success_rate_below_limit" and alert["job"] == "flaky"
        assert "1/4 runs succeeded" in alert["message"] and alert["success_rate"] == 0.25
        assert "ALERT success_rate_below_limit: job flaky" in logged
        [(rcpt, mail)] = smtp
        assert rcpt == ["ops@datasetgen.test", "oncall@datasetgen.test"]
        assert mail["Subject"] == "[DatasetGen] success_rate_below_limit: flaky"
        assert "1/4 runs succeeded" in mail.get_payload()
        # the same condition in the same window: no second alert
        assert not _run(instance, flaky_job, fail=True)
        message, _ = _tick(success_rate_alert, instance, cursor)
        assert message == "0 alert(s) sent" and len(webhook) == 1 and len(smtp) == 1


def test_run_time_alert_on_a_slow_run(webhook: list, alerts_yaml: Any) -> None:
    alerts_yaml("run_time: {factor: 1.5, min_baseline_runs: 3}\n")
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(3):
            assert _run(instance, flaky_job)
        _, cursor = _tick(run_time_alert, instance, None)
        assert webhook == []
        assert _run(instance, flaky_job, sleep=2.5)
        message, cursor = _tick(run_time_alert, instance, cursor)
        assert message == "1 alert(s) sent"
        [alert] = webhook
        assert alert["event"] == "run_time_above_baseline" and alert["job"] == "flaky"
        assert alert["seconds"] > 1.5 * alert["baseline_s"] and alert["seconds"] >= 2.5
        slow = instance.get_run_records(limit=1)[0].dagster_run.run_id
        assert alert["run_id"] == slow
        _tick(run_time_alert, instance, cursor)
        assert len(webhook) == 1


def test_llm_cost_and_quality_drop_alerts(webhook: list, alerts_yaml: Any) -> None:
    alerts_yaml("llm_cost: {daily_limit_usd: 1.0}\nquality_drop: {min_drop: 5}\n")
    usage = {"provider": "openai", "model": "gpt-4.1", "calls": 4, "cost_usd": 0.6,
             "by_model": {"openai/gpt-4.1": {"calls": 4, "input_tokens": 1000,
                                             "output_tokens": 200, "cache_hits": 0,
                                             "cost_usd": 0.6}}}
    with dg.DagsterInstance.ephemeral() as instance:
        _report(instance, ["shop", "enriched"], **{"llm/usage": usage})
        _report(instance, ["shop", "quality"], report={"score": 97.5})
        _, cost_cursor = _tick(llm_cost_alert, instance, None)
        _, quality_cursor = _tick(quality_drop_alert, instance, None)
        _report(instance, ["shop", "quality"], report={"score": 95.0})  # -2.5: under the limit
        assert _tick(quality_drop_alert, instance, quality_cursor)[0] == "0 alert(s) sent"
        _report(instance, ["shop", "enriched"], **{"llm/usage": usage})  # $1.20 today
        _report(instance, ["shop", "quality"], report={"score": 81.0})  # -14
        message, cost_cursor = _tick(llm_cost_alert, instance, cost_cursor)
        assert message == "1 alert(s) sent"
        _, quality_cursor = _tick(quality_drop_alert, instance, quality_cursor)
        cost, drop = webhook
        assert cost["event"] == "llm_cost_above_limit" and cost["cost_usd"] == pytest.approx(1.2)
        assert "shop $1.2000" in cost["message"]
        assert drop["event"] == "quality_score_drop" and drop["dataset"] == "shop/quality"
        assert "95.00 -> 81.00" in drop["message"]
        _report(instance, ["shop", "enriched"], **{"llm/usage": usage})  # still over: same day
        _tick(llm_cost_alert, instance, cost_cursor)
        _tick(quality_drop_alert, instance, quality_cursor)
        assert len(webhook) == 2


def _run_info(i: int, status: str = "SUCCESS", took: float = 10.0, start: float = 1000.0,
              pipeline: str = "p") -> RunInfo:
    return RunInfo(f"r{i}", f"{pipeline}_job", pipeline, status, start - 1, start,
                   None if status == "STARTED" else start + took)


def test_run_time_baseline_is_the_median_of_earlier_successes() -> None:
    runs = [_run_info(i, took=t, start=1000.0 + 100 * i) for i, t in enumerate([10, 30, 12, 11])]
    runs.append(_run_info(9, "FAILURE", took=1, start=1350))
    assert baseline(runs, before=1500, n=3, min_n=3) == 12  # last three successes: 30, 12, 11
    assert baseline(runs, before=1150, n=3, min_n=3) is None  # only two ended by then
    now = 2000.0
    rec = Records([*runs, _run_info(5, "STARTED", start=now - 20)], [])
    t = AlertThresholds()
    [alert] = run_time_alerts(rec, t, now)  # running for 20 s > 1.5 x 11.5 s
    assert alert.key == "run_time:r5" and "still running" in alert.payload["message"]
    assert run_time_alerts(Records([*runs, _run_info(5, "STARTED", start=now - 17)], []),
                           t, now) == []


def test_success_rate_window_and_minimum_runs() -> None:
    now = 100_000.0
    old = [_run_info(i, "FAILURE", start=now - 90_000) for i in range(5)]
    recent = [_run_info(10, "SUCCESS", start=now - 60), _run_info(11, "FAILURE", start=now - 50)]
    t = AlertThresholds()
    assert success_rate_alerts(Records(old + recent, []), t, now) == []  # 2 < min_runs
    recent.append(_run_info(12, "FAILURE", start=now - 40))
    [alert] = success_rate_alerts(Records(old + recent, []), t, now)
    assert alert.payload["runs"] == 3 and alert.payload["success_rate"] == 0.3333


def test_quality_drop_compares_with_the_previous_score_of_the_same_dataset() -> None:
    now = time.time()

    def mat(i: int, dataset: str, score: float) -> Materialization:
        return Materialization(i, "r", dataset, "q", now - 10 + i, quality_score=score)

    rec = Records([], [mat(1, "a", 90), mat(2, "b", 50), mat(3, "a", 88), mat(4, "a", 70)])
    [alert] = quality_drop_alerts(rec, AlertThresholds(), now)
    assert alert.key == "quality_drop:a/q:4" and alert.payload["previous"] == 88


def test_tick_alerts_once_per_key_and_the_first_tick_only_records() -> None:
    rec = Records([], [Materialization(1, "r", "a", "q", time.time(), quality_score=90),
                       Materialization(2, "r", "a", "q", time.time(), quality_score=70)])
    t = AlertThresholds()
    new, cursor = tick(quality_drop_alerts, rec, t, None, time.time())
    assert new == [] and "quality_drop:a/q:2" in json.loads(cursor)["fired"]
    rec.materializations.append(Materialization(3, "r", "a", "q", time.time(), quality_score=50))
    new, cursor = tick(quality_drop_alerts, rec, t, cursor, time.time())
    assert [a.key for a in new] == ["quality_drop:a/q:3"]
    assert tick(quality_drop_alerts, rec, t, cursor, time.time())[0] == []


def test_thresholds_defaults_file_and_errors(alerts_yaml: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATASETGEN_ALERTS_FILE", raising=False)
    monkeypatch.setenv("DATASETGEN_PROJECT_DIR", str(tmp_path))
    assert load_thresholds() == AlertThresholds()  # no alerts.yaml: defaults
    t = load_thresholds(alerts_yaml("llm_cost: {daily_limit_usd: 12.5}\n"
                                    "run_time: {enabled: false}\n"))
    assert t.llm_cost.daily_limit_usd == 12.5 and not t.run_time.enabled
    assert t.success_rate.min == 0.8
    assert run_time_alerts(Records([_run_info(1, "STARTED", start=0)], []), t, 1e9) == []
    with pytest.raises(PipelineError, match=r"alerts.yaml: field 'success_rate.mni'.*Fix: "
                                            r"remove it or fix its spelling"):
        parse_thresholds("success_rate: {mni: 0.5}\n")
    with pytest.raises(PipelineError, match=r"field 'success_rate.min'.*less than or equal"):
        parse_thresholds("success_rate: {min: 80}\n")
    with pytest.raises(PipelineError, match=r"field 'latency'.*known rules: llm_cost"):
        parse_thresholds("latency: {}\n")
    with pytest.raises(PipelineError, match=r"alerts.yaml:3: not valid YAML.*indentation"):
        parse_thresholds("llm_cost:\n  daily_limit_usd: 1\n bad: 2\n")
    with pytest.raises(PipelineError, match="must be a mapping"):
        parse_thresholds("- llm_cost\n")
    monkeypatch.setenv("DATASETGEN_ALERTS_FILE", str(tmp_path / "nope.yaml"))
    with pytest.raises(PipelineError, match=r"nope.yaml: alerts file does not exist"):
        load_thresholds()


def test_email_failure_is_logged_without_the_password(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    monkeypatch.delenv("DATASETGEN_ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("DATASETGEN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("DATASETGEN_SMTP_PORT", str(port))
    monkeypatch.setenv("DATASETGEN_SMTP_TO", "ops@datasetgen.test")
    monkeypatch.setenv("DATASETGEN_SMTP_USER", "alerts")
    monkeypatch.setenv("DATASETGEN_SMTP_PASSWORD", "hunter2-secret")
    log = logging.getLogger("alert-rules-test")
    with caplog.at_level(logging.WARNING, logger="alert-rules-test"):
        deliver({"event": "x", "job": "j", "run_id": "r", "message": "m"}, log)
    assert "alert email failed: ConnectionRefusedError" in caplog.text
    assert "hunter2" not in caplog.text
    monkeypatch.setenv("DATASETGEN_SMTP_TO", "")
    with caplog.at_level(logging.WARNING, logger="alert-rules-test"):
        deliver({"event": "x", "job": "j", "run_id": "r", "message": "m"}, log)
    assert "DATASETGEN_SMTP_TO is empty" in caplog.text
