"""Upkeep jobs, their schedules and their Kubernetes sizes, in one table.

Each job materialises one upkeep asset, defined in its room (``compaction/``, ``backup/``, ...);
the times stay together here because they order the rooms' work through the night. A job's
``dagster-k8s/config`` tag sizes the run pod the K8sRunLauncher creates (within the namespace's
LimitRange) and labels daily jobs for the freshness alert. Schedules run on the platform and start stopped on the embedded runtime.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import dagster as dg

from lakehouse.settings import Settings
from lakehouse.upkeep.backup.assets import backup, restore_check
from lakehouse.upkeep.compaction.assets import compaction
from lakehouse.upkeep.erasure.assets import gdpr_erasure
from lakehouse.upkeep.health.assets import table_health_asset
from lakehouse.upkeep.retention.assets import retention
from lakehouse.upkeep.snapshots.assets import orphan_files, snapshot_expiry

K8S_CONFIG_TAG = "dagster-k8s/config"
FRESHNESS_LABEL = "lakehouse.io/freshness"


@dataclass(frozen=True)
class UpkeepJob:
    asset: dg.AssetsDefinition
    cron: str
    requests: tuple[str, str]  # cpu, memory
    limits: tuple[str, str]
    daily: bool = False
    # Secrets only this job's run pod reads (envFrom), beside the code location's own
    secrets: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"upkeep_{self.asset.key.path[-1]}"

    def k8s_config(self) -> dict[str, Any]:
        resources = {
            "requests": {"cpu": self.requests[0], "memory": self.requests[1]},
            "limits": {"cpu": self.limits[0], "memory": self.limits[1]},
        }
        container: dict[str, Any] = {"resources": resources}
        if self.secrets:
            container["env_from"] = [{"secret_ref": {"name": name}} for name in self.secrets]
        config: dict[str, Any] = {"container_config": container}
        if self.daily:
            config["job_metadata"] = {"labels": {FRESHNESS_LABEL: "daily"}}
        return config

    def tags(self) -> dict[str, str]:
        return {K8S_CONFIG_TAG: json.dumps(self.k8s_config(), sort_keys=True), "kind": "upkeep"}


# Times are UTC; ordered so retention's deletes are compacted, then expired, the same night.
# Backups run hourly: the seed's RPO is one hour. GDPR requests are handled daily.
UPKEEP_JOBS: tuple[UpkeepJob, ...] = (
    UpkeepJob(table_health_asset, "*/15 * * * *", ("100m", "256Mi"), ("500m", "512Mi")),
    UpkeepJob(backup, "5 * * * *", ("500m", "1Gi"), ("2", "2Gi")),
    # Only retention purges audit rows past seven years: the purge login's Secret is its alone.
    UpkeepJob(
        retention,
        "0 1 * * *",
        ("500m", "2Gi"),
        ("2", "4Gi"),
        daily=True,
        secrets=("lakehouse-audit-retention",),
    ),
    UpkeepJob(compaction, "30 1 * * *", ("1", "4Gi"), ("2", "8Gi"), daily=True),
    UpkeepJob(snapshot_expiry, "0 3 * * *", ("250m", "512Mi"), ("1", "1Gi"), daily=True),
    UpkeepJob(orphan_files, "0 4 * * 0", ("250m", "512Mi"), ("1", "1Gi")),
    UpkeepJob(restore_check, "30 5 * * *", ("1", "2Gi"), ("2", "4Gi"), daily=True),
    UpkeepJob(gdpr_erasure, "0 6 * * *", ("500m", "2Gi"), ("2", "4Gi"), daily=True),
)


def schedule_status(settings: Settings) -> dg.DefaultScheduleStatus:
    running = settings.upkeep_schedules_running
    if running is None:
        running = settings.runtime == "platform"
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


@dataclass(frozen=True)
class UpkeepDefinitions:
    assets: list[dg.AssetsDefinition]
    jobs: list[dg.UnresolvedAssetJobDefinition]
    schedules: list[dg.ScheduleDefinition]


def build_upkeep(settings: Settings) -> UpkeepDefinitions:
    """The upkeep assets, one job per asset, and a schedule per job."""
    jobs, schedules = [], []
    status = schedule_status(settings)
    for spec in UPKEEP_JOBS:
        job = dg.define_asset_job(
            spec.name,
            selection=dg.AssetSelection.assets(spec.asset),
            tags=spec.tags(),
            description=spec.asset.descriptions_by_key.get(spec.asset.key),
        )
        jobs.append(job)
        schedules.append(
            dg.ScheduleDefinition(
                name=f"{spec.name}_schedule",
                job=job,
                cron_schedule=spec.cron,
                execution_timezone="UTC",
                default_status=status,
            )
        )
    return UpkeepDefinitions([spec.asset for spec in UPKEEP_JOBS], jobs, schedules)
