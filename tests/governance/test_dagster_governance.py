"""Finished Dagster runs reach the audit trail and the lineage export through the run status
sensors: every run and step outcome, materialisation and check, once, with who launched it."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from audit_fixtures import tick_run_sensor
from openlineage_schema import validate_event

from lakehouse.governance.audit.dagster_records import run_audit_records
from lakehouse.governance.audit.sqlite_store import SqliteAuditStore
from lakehouse.governance.dagster_runs import read_run
from lakehouse.governance.lineage.columns import ColumnSource, column_lineage_metadata
from lakehouse.governance.lineage.dagster_lineage import (
    ASSERTIONS_METADATA,
    asset_facts_from,
    run_lineage_events,
)
from lakehouse.governance.lineage.transport import lineage_client
from lakehouse.governance.sensors import governance_sensors
from lakehouse.settings import load_settings

LINEAGE = column_lineage_metadata({"user_id": [ColumnSource("raw.faker_users", "id", True)]})


@dg.asset(key=["raw", "faker_users"], group_name="raw")
def raw_users() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"snapshot_id": 11, "dagster/row_count": 5})


@dg.asset(
    key=["staging", "users"],
    deps=[raw_users],
    group_name="staging",
    owners=["team:data-engineering"],
    tags={"classification": "confidential", "pii": "true"},
    metadata={"dagster/column_lineage": LINEAGE, "dagster/table_name": "staging.users"},
    description="Users, cleaned",
)
def staging_users() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "snapshot_id": 22,
            "dagster/row_count": 4,
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn("user_id", "long"),
                    dg.TableColumn("email", "string", tags={"pii": "true"}),
                ]
            ),
        }
    )


@dg.asset_check(asset=staging_users, name="pandera_contract")
def users_contract() -> dg.AssetCheckResult:
    assertions = [{"assertion": "not_null", "success": True, "column": "user_id"}]
    return dg.AssetCheckResult(
        passed=True, metadata={ASSERTIONS_METADATA: dg.MetadataValue.json(assertions)}
    )


@dg.asset(key=["analytics", "broken"], deps=[staging_users], group_name="analytics")
def broken() -> None:
    raise RuntimeError("the warehouse is on fire")


DEFS = dg.Definitions(assets=[raw_users, staging_users, broken], asset_checks=[users_contract])


@pytest.fixture
def finished(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [raw_users, staging_users, broken],
        instance=instance,
        raise_on_error=False,
        tags={"dagster/schedule_name": "nightly"},
        selection=None,
    )
    run = instance.get_run_by_id(result.run_id)
    return instance, run


def test_every_outcome_becomes_an_audit_row(finished):
    instance, run = finished
    records = run_audit_records(read_run(instance, run))
    actions = [(r.action, r.object) for r in records]
    assert ("dagster.asset.materialized", "staging/users") in actions
    assert ("dagster.step.success", "raw__faker_users") in actions
    assert ("dagster.step.failure", "analytics__broken") in actions
    assert actions[-1][0] == "dagster.run.failure"
    failure = next(r for r in records if r.action == "dagster.step.failure")
    assert "the warehouse is on fire" in failure.details["error"]
    materialized = next(
        r for r in records if r.object == "staging/users" and "materialized" in r.action
    )
    assert materialized.details["metadata"] == {"snapshot_id": 22, "dagster/row_count": 4}
    assert {r.actor for r in records} == {"service:dagster-schedule/nightly"}
    assert {r.run_id for r in records} == {run.run_id}
    assert len({r.key for r in records}) == len(records)


def test_checks_and_successful_runs_are_audited_too():
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [raw_users, staging_users, users_contract],
        instance=instance,
        selection=[raw_users, staging_users],
    )
    records = run_audit_records(read_run(instance, instance.get_run_by_id(result.run_id)))
    check = next(r for r in records if r.action == "dagster.check.passed")
    assert check.object == "staging/users"
    assert check.details["check"] == "pandera_contract" and check.details["passed"] is True
    assert records[-1].action == "dagster.run.success"
    assert records[-1].actor == "dagster:unattributed"  # launched with no user, schedule or sensor


def test_the_sensors_record_and_export_each_run_once(finished, tmp_path):
    instance, run = finished
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    store = SqliteAuditStore(tmp_path / "audit.db")
    locations = {"raw.faker_users": "s3://warehouse/raw/faker_users"}
    sensors = governance_sensors(
        audit_store=lambda: store,
        lineage=lambda: (
            lineage_client(settings),
            "lakehouse",
            lambda t: locations.get(t, f"s3://warehouse/{t.replace('.', '/')}"),
        ),
        describe=asset_facts_from,
    )
    assert [s.name for s in sensors] == [
        "governance_success",
        "governance_failure",
        "governance_canceled",
    ]
    for _ in range(2):  # a retried tick re-reads the run
        tick_run_sensor(sensors[1], instance, run, DEFS.get_repository_def())
    rows = store.list()
    assert len(rows) == len(run_audit_records(read_run(instance, run)))
    assert store.verify().ok

    events = [json.loads(line) for line in settings.lineage_file.read_text().splitlines()]
    for data in events:
        validate_event(data)
    first = events[: len(events) // 2]
    assert first == events[len(events) // 2 :]  # the same events again: same run ids
    by_job = {}
    for data in first:
        by_job.setdefault(data["job"]["name"], []).append(data["eventType"])
    assert by_job["staging/users"] == ["START", "COMPLETE"]
    assert by_job["analytics/broken"] == ["START", "FAIL"]
    users = next(
        d for d in first if d["job"]["name"] == "staging/users" and d["eventType"] == "COMPLETE"
    )
    (output,) = users["outputs"]
    assert output["facets"]["lakehouse_iceberg"]["snapshotId"] == 22
    assert output["facets"]["ownership"]["owners"][0]["name"] == "team:data-engineering"
    assert users["inputs"][0]["name"] == "raw/faker_users"
    column = output["facets"]["columnLineage"]["fields"]["user_id"]["inputFields"][0]
    assert (column["namespace"], column["name"], column["field"]) == (
        "s3://warehouse",
        "raw/faker_users",
        "id",
    )
    fail = next(d for d in first if d["eventType"] == "FAIL")
    assert "the warehouse is on fire" in fail["run"]["facets"]["errorMessage"]["message"]


def test_check_evaluations_become_check_runs_with_their_assertions(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [raw_users, staging_users, users_contract],
        instance=instance,
        selection=[staging_users, raw_users],
    )
    run = read_run(instance, instance.get_run_by_id(result.run_id))
    events = run_lineage_events(
        run, "lakehouse", asset_facts_from(DEFS.get_repository_def()), lambda t: f"file:///w/{t}"
    )
    checks = [validate_event(e) for e in events if e.job.name == "staging/users.pandera_contract"]
    assert [c["eventType"] for c in checks] == ["START", "COMPLETE"]
    assertions = checks[-1]["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert [(a["assertion"], a["success"], a["column"]) for a in assertions] == [
        ("not_null", True, "user_id")
    ]
