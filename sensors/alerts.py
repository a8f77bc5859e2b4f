"""Alerts: a failed run is written to the log and, when $DATASETGEN_ALERT_WEBHOOK_URL is set,
posted to that webhook as JSON; when $DATASETGEN_SMTP_HOST is set it is also emailed."""

from __future__ import annotations

import json
import os
import smtplib
from email.message import EmailMessage
from typing import Any

import dagster as dg
import requests


def failure_payload(job_name: str, run_id: str, message: str) -> dict[str, Any]:
    """The alert body: what failed and where to look."""
    return {"event": "run_failed", "job": job_name, "run_id": run_id,
            "message": message[:2000]}


def deliver(payload: dict[str, Any], log: Any) -> bool:
    """Log the alert; post it to the webhook ($DATASETGEN_ALERT_WEBHOOK_URL) when set.
    True when posted."""
    log.error(f"ALERT {payload['event']}: job {payload['job']} run {payload['run_id']}: "
              f"{payload['message']}")
    send_email(payload, log)
    url = os.environ.get("DATASETGEN_ALERT_WEBHOOK_URL")
    if not url:
        return False
    try:
        requests.post(url, json=payload, timeout=10).raise_for_status()
    except requests.RequestException as exc:
        log.warning(f"alert webhook failed: {type(exc).__name__}")
        return False
    return True


def send_email(payload: dict[str, Any], log: Any) -> bool:
    """Email the alert when $DATASETGEN_SMTP_HOST and $DATASETGEN_SMTP_TO (comma-separated)
    are set; PORT (default 25; 465 is implicit TLS), USER/PASSWORD (login, after STARTTLS
    when offered) and FROM are optional. The password is never logged. True when sent."""
    env = os.environ.get
    host, to = env("DATASETGEN_SMTP_HOST"), env("DATASETGEN_SMTP_TO", "")
    if not host:
        return False
    recipients = [a.strip() for a in to.split(",") if a.strip()]
    if not recipients:
        log.warning("alert email not sent: DATASETGEN_SMTP_TO is empty (set the recipients)")
        return False
    msg = EmailMessage()
    msg["Subject"] = f"[DatasetGen] {payload['event']}: {payload['job']}"
    msg["From"] = env("DATASETGEN_SMTP_FROM") or "datasetgen@localhost"
    msg["To"] = ", ".join(recipients)
    msg.set_content(f"{payload['message']}\n\n{json.dumps(payload, indent=2, default=str)}\n")
    try:
        port = int(env("DATASETGEN_SMTP_PORT") or 25)
        smtp_cls = smtplib.SMTP_SSL if port == 465 else smtplib.SMTP
        with smtp_cls(host, port, timeout=10) as smtp:
            if port != 465:
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls()
                    smtp.ehlo()
            if env("DATASETGEN_SMTP_USER"):
                smtp.login(env("DATASETGEN_SMTP_USER", ""), env("DATASETGEN_SMTP_PASSWORD", ""))
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        log.warning(f"alert email failed: {type(exc).__name__}")
        return False
    return True


@dg.run_failure_sensor(name="run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Logs failed runs and posts them to the alert webhook.")
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    deliver(failure_payload(run.job_name, run.run_id, context.failure_event.message or ""),
            context.log)


def check_failure_payload(asset: str, check: str, description: str, run_id: str) -> dict[str, Any]:
    """The alert body of a failed asset check (no data values: counts and names only)."""
    return {"event": "quality_check_failed", "job": asset, "run_id": run_id,
            "message": f"check '{check}' failed on {asset}: {description}"[:2000]}


@dg.sensor(name="quality_failure_alert", minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Alerts on every failed asset check (quality gate) since the last tick.")
def quality_failure_alert(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    instance = context.instance
    kind = dg.DagsterEventType.ASSET_CHECK_EVALUATION
    if context.cursor is None:  # first tick: alert from now on, not on history
        latest = instance.get_event_records(dg.EventRecordsFilter(event_type=kind), limit=1)
        context.update_cursor(str(latest[0].storage_id if latest else 0))
        return dg.SkipReason("started watching asset checks")
    records = instance.get_event_records(
        dg.EventRecordsFilter(event_type=kind, after_cursor=int(context.cursor)),
        limit=500, ascending=True)
    failed = 0
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        failed += 1
        description = (evaluation.description or "").strip() or "failed"
        deliver(check_failure_payload(evaluation.asset_key.to_user_string(),
                                      evaluation.check_name, description, record.run_id),
                context.log)
    if records:
        context.update_cursor(str(records[-1].storage_id))
    return dg.SkipReason(f"{len(records)} check results, {failed} failed (alerted)")
