"""Sensors of the code location."""

from __future__ import annotations

from typing import Any

from sensors.alert_rules import THRESHOLD_SENSORS
from sensors.alerts import quality_failure_alert, run_failure_alert


def all_sensors() -> list[Any]:
    """Every sensor the code location ships."""
    return [run_failure_alert, quality_failure_alert, *THRESHOLD_SENSORS]
