"""Run status sensors that hand every finished run to the audit trail and the lineage export.

A sensor, not run hooks: it sees every run of the instance's code location, whoever launched
it, and a catalog or audit-store outage fails the sensor tick (retried on the next one) rather
than the data run. Re-reading a run is harmless: audit rows are keyed by event, and lineage
run ids are derived from the Dagster run id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import dagster as dg
from openlineage.client import OpenLineageClient

from lakehouse.governance.archive import SCRATCH_NAMESPACE
from lakehouse.governance.audit.configured import audit_store as configured_audit_store
from lakehouse.governance.audit.dagster_records import run_audit_records
from lakehouse.governance.audit.store import AuditStore
from lakehouse.governance.dagster_runs import read_run
from lakehouse.governance.lineage.dagster_lineage import (
    Describe,
    Locate,
    asset_facts_from,
    catalog_locator,
    run_lineage_events,
)
from lakehouse.governance.lineage.transport import emit, lineage_client
from lakehouse.governance.schema_sensor import schema_change_sensor

if TYPE_CHECKING:
    from lakehouse.settings import Settings

STATUSES = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)


def governance_sensors(
    *,
    audit_store: Callable[[], AuditStore] | None = None,
    lineage: Callable[[], tuple[OpenLineageClient | None, str, Locate]] | None = None,
    describe: Callable[[dg.RepositoryDefinition | None], Describe] | None = None,
    name: str = "governance",
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> list[dg.SensorDefinition]:
    """One sensor per final status. ``audit_store`` opens the store; ``lineage`` gives the
    client (None: export off), the job namespace and a table locator; ``describe`` turns the
    repository into asset facts (``asset_facts_from``)."""

    def handle(context: dg.RunStatusSensorContext) -> None:
        run = read_run(context.instance, context.dagster_run)
        if audit_store is not None:
            store = audit_store()
            try:
                written = store.append(run_audit_records(run))
            finally:
                store.close()
            context.log.info(f"audit: {written} row(s) for run {run.run_id}")
        if lineage is not None:
            client, namespace, locate = lineage()
            facts = describe(context.repository_def) if describe else (lambda key: None)
            sent = emit(client, run_lineage_events(run, namespace, facts, locate))
            context.log.info(f"lineage: {sent} OpenLineage event(s) for run {run.run_id}")

    sensors: list[dg.SensorDefinition] = []
    for status in STATUSES:
        sensors.append(
            dg.run_status_sensor(
                run_status=status,
                name=f"{name}_{status.value.lower()}",
                description=f"Audit rows and OpenLineage events for every {status.value} run",
                default_status=default_status,
            )(handle)
        )
    return sensors


def configured_governance_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    """The run sensors and the schema change sensor on the configured audit store, lineage
    transport and catalog; they run on both runtimes (auditing is not optional)."""
    from lakehouse.catalog import shared_catalog  # the catalog only when a tick needs it

    def lineage() -> tuple[OpenLineageClient | None, str, Locate]:
        locate = catalog_locator(shared_catalog(settings), settings.warehouse_location)
        return lineage_client(settings), settings.openlineage_namespace, locate

    def store() -> AuditStore:
        return configured_audit_store(settings)

    def describe(repository: dg.RepositoryDefinition | None) -> Describe:
        return asset_facts_from(repository) if repository else (lambda key: None)

    exported = settings.lineage_transport != "off"
    return [
        *governance_sensors(
            audit_store=store,
            lineage=lineage if exported else None,
            describe=describe,
        ),
        schema_change_sensor(
            lambda: shared_catalog(settings),
            store,
            skip_namespaces=frozenset({settings.upkeep_restore_namespace, SCRATCH_NAMESPACE}),
        ),
    ]
