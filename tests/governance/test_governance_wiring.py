"""The code location wires governance in: every finished run reaches the audit trail and the
OpenLineage export through its sensors, and every table's schema change is audited once."""

from __future__ import annotations

import json

import dagster as dg
import pyarrow as pa
from audit_fixtures import tick_run_sensor
from openlineage_schema import validate_event
from pyiceberg.types import LongType

from lakehouse.definitions import build_definitions
from lakehouse.governance.audit.configured import audit_store
from lakehouse.governance.schema_sensor import record_schema_changes
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write

GOVERNANCE_SENSORS = {
    "governance_success",
    "governance_failure",
    "governance_canceled",
    "governance_schema_changes",
}


def _sensor(defs: dg.Definitions, name: str) -> dg.SensorDefinition:
    return next(s for s in defs.sensors if s.name == name)


def test_a_run_of_the_location_is_audited_and_exported(environment, settings):
    defs = build_definitions(environment)
    assert {s.name for s in defs.sensors} >= GOVERNANCE_SENSORS
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("upkeep_table_health").execute_in_process(instance=instance)
    run = instance.get_run_by_id(result.run_id)
    sensor = _sensor(defs, "governance_success")
    tick_run_sensor(sensor, instance, run, defs.get_repository_def())

    rows = audit_store(settings).list()
    assert ("dagster.run.success", "upkeep_table_health") in {
        (r.record.action, r.record.object) for r in rows
    }
    assert ("dagster.asset.materialized", "upkeep/table_health") in {
        (r.record.action, r.record.object) for r in rows
    }
    events = [json.loads(line) for line in settings.lineage_file.read_text().splitlines()]
    for data in events:
        validate_event(data)
    health = [e for e in events if e["job"]["name"] == "upkeep/table_health"]
    assert [e["eventType"] for e in health] == ["START", "COMPLETE"]
    assert health[0]["job"]["facets"]["jobType"]["jobType"] == "UPKEEP"


def test_schema_changes_of_every_table_are_audited_once(environment, settings, catalog):
    catalog.create_namespace_if_not_exists("raw")
    request = WriteRequest(("raw", "t"), mode="append")
    write(catalog, pa.table({"id": pa.array([1], pa.int32())}), request)
    write(catalog, pa.table({"id": pa.array([2], pa.int32()), "tier": ["gold"]}), request)
    defs = build_definitions(environment)
    sensor = _sensor(defs, "governance_schema_changes")

    first = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral())
    sensor(first)
    with catalog.load_table(("raw", "t")).update_schema() as update:
        update.update_column("id", LongType())
    second = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), cursor=first.cursor)
    sensor(second)
    sensor(dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral()))  # cursor lost

    changes = [r.record for r in audit_store(settings).list(object="raw.t")]
    assert [r.action for r in changes] == ["iceberg.schema_change"] * 2
    assert [c["kind"] for c in changes[0].details["changes"]] == ["added"]
    assert [c["kind"] for c in changes[1].details["changes"]] == ["widened"]
    assert json.loads(second.cursor or "{}") == {"raw.t": 2}


def test_an_unchanged_table_is_not_read_again(catalog, settings):
    catalog.create_namespace_if_not_exists("raw")
    write(catalog, pa.table({"id": [1]}), WriteRequest(("raw", "t"), mode="append"))
    store = audit_store(settings)
    seen: dict[str, int] = {}
    assert record_schema_changes(catalog, store, seen) == 0  # one schema: nothing changed
    assert seen == {"raw.t": 0}
    assert store.list() == []
