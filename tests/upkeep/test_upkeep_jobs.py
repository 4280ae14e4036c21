"""Every upkeep job runs as a Dagster job on the embedded runtime, and reports its numbers."""

from __future__ import annotations

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
README_METRICS = set(
    re.findall(r"`(lakehouse_[a-z_]+)`", (REPO / "deploy" / "README.md").read_text())
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


def test_every_upkeep_job_runs_embedded_and_publishes_its_figures(defs, append, tmp_path):
    for batch in range(6):
        append(events(batch * 10, 10))
    append(events(0, 10), ("raw", "faker_users"))

    assert _metadata(_run(defs, "upkeep_compaction"))["files_removed"] == 6
    assert _metadata(_run(defs, "upkeep_snapshot_expiry"))["tables"] == 2
    assert (
        _metadata(
            _run(
                defs,
                "upkeep_orphan_files",
                {"ops": {"upkeep__orphan_files": {"config": {"dry_run": True}}}},
            )
        )["orphans"]
        == 0
    )
    assert _metadata(_run(defs, "upkeep_retention"))["tables"] == 2
    backup = _metadata(_run(defs, "upkeep_backup"))
    assert backup["tables"] == 2 and backup["rows"] == 70
    assert 'lakehouse_backup_success{backup="tables"} 1' in _metric_lines(tmp_path, "backup")
    check = _metadata(_run(defs, "upkeep_restore_check"))
    assert check["rows"] == 70 and 0 <= check["rpo_seconds"] < 3600 and check["rto_seconds"] > 0
    assert 'lakehouse_restore_check_success{table="all"} 1' in _metric_lines(
        tmp_path, "restore_check"
    )
    erasure = {
        "ops": {"upkeep__gdpr_erasure": {"config": {"subject_ids": ["4"], "requested_by": "test"}}}
    }
    assert _metadata(_run(defs, "upkeep_gdpr_erasure", erasure))["rows_deleted"] == 1

    health = _run(defs, "upkeep_table_health")
    observed = {
        e.asset_key.to_user_string(): e.event_specific_data.asset_observation.metadata
        for e in health.all_events
        if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    }
    events_health = observed["raw/events"]
    assert events_health["data_files"].value == 1 and events_health["small_file_ratio"].value == 1.0
    assert events_health["last_backup_age_seconds"].value < 3600
    text = _metric_lines(tmp_path, "table_health")
    assert 'lakehouse_table_data_files{namespace="raw",table="raw.events"} 1' in text
    emitted = set(re.findall(r"^(lakehouse_[a-z_]+)\{", text, re.M))
    emitted |= {"lakehouse_backup_success", "lakehouse_restore_check_success"}
    assert emitted >= README_METRICS  # the names the alerts and the dashboard expect
    assert set(HELP) >= README_METRICS


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


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_dagster_job_execute_runs_an_upkeep_job_from_the_command_line(append, tmp_path):
    append(events(0, 10))
    env = {**os.environ, "LAKEHOUSE_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster")}
    (tmp_path / "dagster").mkdir()
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [
            str(dagster),
            "job",
            "execute",
            "-m",
            "lakehouse.definitions",
            "-j",
            "upkeep_table_health",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stdout + done.stderr
    assert (
        "lakehouse_table_bytes"
        in (tmp_path / "metrics" / "lakehouse_table_health.prom").read_text()
    )
