"""Every upkeep job runs as a Dagster job on the embedded runtime, and reports its numbers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from upkeep_tables import events

from lakehouse.definitions import build_definitions
from lakehouse.upkeep.jobs import UPKEEP_JOBS
from lakehouse.upkeep.metrics import HELP

REPO = Path(__file__).resolve().parents[2]
# The metric names of deploy/README.md's Metrics section (other sections name PostgreSQL logins).
README_METRICS = set(
    re.findall(
        r"`(lakehouse_[a-z_]+)`",
        (REPO / "deploy" / "README.md").read_text().split("\n## Metrics\n", 1)[1].split("\n## ")[0],
    )
)


@pytest.fixture
def defs(environment) -> dg.Definitions:
    return build_definitions(environment)


def _run(
    defs: dg.Definitions, name: str, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(name)
    return job.execute_in_process(
        run_config=run_config or {}, instance=dg.DagsterInstance.ephemeral()
    )


def _metadata(result: dg.ExecuteInProcessResult) -> dict:
    (materialization,) = result.get_asset_materialization_events()
    return {k: v.value for k, v in materialization.materialization.metadata.items()}


def _metric_lines(tmp_path: Path, job: str) -> str:
    return (tmp_path / "metrics" / f"lakehouse_{job}.prom").read_text()


class InProcess:
    """Runs a job with ``execute_in_process``; returns its materialisation's metadata."""

    def __init__(self, defs: dg.Definitions) -> None:
        self.defs = defs
        self.observed: dict[str, dict] = {}

    def __call__(self, name: str, run_config: dict | None = None) -> dict:
        result = _run(self.defs, name, run_config)
        self.observed = {
            e.asset_key.to_user_string(): e.event_specific_data.asset_observation.metadata
            for e in result.all_events
            if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
        }
        return _metadata(result) if result.get_asset_materialization_events() else {}

    def observation(self, key: str) -> dict:
        return self.observed[key]


class CommandLine:
    """Runs a job with ``dagster job execute`` (its own process and instance, as an operator
    would); reads the materialisation and observations back from that instance."""

    def __init__(self, environment: dict[str, str], dagster_home: Path) -> None:
        dagster_home.mkdir(exist_ok=True)
        self.home = dagster_home
        self.env = {**os.environ, **environment, "DAGSTER_HOME": str(dagster_home)}

    def __call__(self, name: str, run_config: dict | None = None) -> dict:
        command = [str(Path(sys.executable).with_name("dagster")), "job", "execute"]
        command += ["-m", "lakehouse.definitions", "-j", name]
        if run_config:
            config = self.home / f"{name}.yaml"
            config.write_text(json.dumps(run_config))  # JSON is YAML
            command += ["-c", str(config)]
        done = subprocess.run(
            command, env=self.env, cwd=REPO, capture_output=True, text=True, timeout=280
        )
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        assert "RUN_SUCCESS" in done.stdout + done.stderr, name
        key = dg.AssetKey(["upkeep", name.removeprefix("upkeep_")])
        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            records = instance.fetch_materializations(key, limit=1).records
        if not records:
            return {}
        metadata = records[0].asset_materialization.metadata
        return {k: v.value for k, v in metadata.items()}

    def observation(self, key: str) -> dict:
        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            (record,) = instance.fetch_observations(
                dg.AssetKey.from_user_string(key), limit=1
            ).records
        return record.asset_observation.metadata


@pytest.mark.parametrize("runner", ["in_process", pytest.param("cli", marks=pytest.mark.slow)])
@pytest.mark.timeout(600)
def test_every_upkeep_job_runs_embedded_and_publishes_its_figures(
    defs, environment, append, tmp_path, runner
):
    """Each job, in process and from ``dagster job execute``, on the same small warehouse."""
    run = InProcess(defs) if runner == "in_process" else CommandLine(environment, tmp_path / "dg")
    for batch in range(6):
        append(events(batch * 10, 10))
    append(events(0, 10), ("raw", "faker_users"))

    assert run("upkeep_compaction")["files_removed"] == 6
    assert run("upkeep_snapshot_expiry")["tables"] == 2
    dry_run = {"ops": {"upkeep__orphan_files": {"config": {"dry_run": True}}}}
    assert run("upkeep_orphan_files", dry_run)["orphans"] == 0
    assert run("upkeep_retention")["tables"] == 2
    backup = run("upkeep_backup")
    assert backup["tables"] == 2 and backup["rows"] == 70
    assert 'lakehouse_backup_success{backup="tables"} 1' in _metric_lines(tmp_path, "backup")
    check = run("upkeep_restore_check")
    assert check["rows"] == 70 and 0 <= check["rpo_seconds"] < 3600 and check["rto_seconds"] > 0
    assert 'lakehouse_restore_check_success{table="all"} 1' in _metric_lines(
        tmp_path, "restore_check"
    )
    erasure = {
        "ops": {"upkeep__gdpr_erasure": {"config": {"subject_ids": ["4"], "requested_by": "test"}}}
    }
    assert run("upkeep_gdpr_erasure", erasure)["rows_deleted"] == 1

    run("upkeep_table_health")
    events_health = run.observation("raw/events")
    assert events_health["data_files"].value == 1 and events_health["small_file_ratio"].value == 1.0
    assert events_health["last_backup_age_seconds"].value < 3600
    text = _metric_lines(tmp_path, "table_health")
    assert 'lakehouse_table_data_files{namespace="raw",table="raw.events"} 1' in text
    emitted = set(re.findall(r"^(lakehouse_[a-z_]+)\{", text, re.M))
    emitted |= {"lakehouse_backup_success", "lakehouse_restore_check_success"}
    assert emitted >= README_METRICS  # the names the alerts and the dashboard expect
    assert set(HELP) >= README_METRICS
    ran = {"compaction", "snapshot_expiry", "orphan_files", "retention", "backup"}
    ran |= {"restore_check", "gdpr_erasure", "table_health"}
    assert {f"upkeep_{name}" for name in ran} == {job.name for job in UPKEEP_JOBS}  # all of them


def test_a_failed_restore_check_fails_the_run_loudly(defs, append, tmp_path):
    append(events(0, 10))
    _run(defs, "upkeep_backup")
    for path in (tmp_path / "backups" / "tables").rglob("*.parquet"):
        path.write_bytes(b"corrupt" + path.read_bytes()[7:])
    result = defs.resolve_job_def("upkeep_restore_check").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    assert not result.success
    assert 'lakehouse_restore_check_success{table="all"} 0' in _metric_lines(
        tmp_path, "restore_check"
    )


def test_the_jobs_are_the_upkeep_ones_with_schedules_stopped_on_embedded(defs):
    names = {spec.name for spec in UPKEEP_JOBS}
    schedules = {s.job_name: s for s in defs.schedules}
    assert names <= set(schedules)
    assert all(schedules[n].default_status == dg.DefaultScheduleStatus.STOPPED for n in names)
    platform = build_definitions({"LAKEHOUSE_UPKEEP_SCHEDULES_RUNNING": "true"})
    assert all(
        s.default_status == dg.DefaultScheduleStatus.RUNNING
        for s in platform.schedules
        if s.job_name in names
    )
