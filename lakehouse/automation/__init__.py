"""Cross-cutting policy and automation: freshness, catalog defaults, jobs, schedules, sensors."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from lakehouse.automation.catalog import apply_catalog_defaults, apply_table_names
from lakehouse.automation.freshness import apply_freshness
from lakehouse.automation.jobs import JOBS
from lakehouse.automation.schedules import build_schedules
from lakehouse.automation.sensors import build_sensors
from lakehouse.settings import Settings


@dataclass(frozen=True)
class Automation:
    jobs: list[dg.UnresolvedAssetJobDefinition]
    schedules: list[dg.ScheduleDefinition]
    sensors: list[dg.SensorDefinition]


def build_automation(settings: Settings) -> Automation:
    """Running on the platform; stopped on the embedded runtime (a laptop runs by hand)."""
    running = settings.runtime == "platform"
    schedule_status = (
        dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED
    )
    sensor_status = dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
    return Automation(list(JOBS), build_schedules(schedule_status), build_sensors(sensor_status))


def apply_policies(assets: list, catalog_name: str) -> list:
    """Catalog defaults and table names, then the layer's freshness policy, on every asset."""
    return list(apply_freshness(apply_table_names(apply_catalog_defaults(assets), catalog_name)))


__all__ = ["Automation", "apply_policies", "build_automation"]
