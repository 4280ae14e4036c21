"""A sensor that records every Iceberg table's schema changes in the audit trail (seed §5.1).

It reads each table's own history (``schema_change_records``), so a change made by any engine
(Spark, Trino, dbt, the IO manager's schema union) is recorded with the run that first wrote
under the new schema. The cursor keeps the last schema id recorded per table; the audit rows'
keys make re-recording harmless when the cursor is lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import dagster as dg
from pyiceberg.catalog import Catalog

from lakehouse.governance.audit.recorders import schema_change_records
from lakehouse.governance.audit.store import AuditStore

INTERVAL_SECONDS = 300


def _tables(catalog: Catalog, skip_namespaces: frozenset[str]) -> list[tuple[str, ...]]:
    return sorted(
        tuple(identifier)
        for namespace in catalog.list_namespaces()
        if ".".join(namespace) not in skip_namespaces
        for identifier in catalog.list_tables(namespace)
    )


def record_schema_changes(
    catalog: Catalog,
    store: AuditStore,
    seen: dict[str, int],
    *,
    skip_namespaces: frozenset[str] = frozenset(),
) -> int:
    """Append the changes after ``seen[table]`` of every table; updates ``seen``; rows written."""
    written = 0
    for identifier in _tables(catalog, skip_namespaces):
        name = ".".join(identifier)
        table = catalog.load_table(identifier)
        current = table.schema().schema_id
        if seen.get(name) == current:
            continue
        written += store.append(schema_change_records(table, after_schema_id=seen.get(name, -1)))
        seen[name] = current
    return written


def schema_change_sensor(
    catalog: Callable[[], Catalog],
    audit_store: Callable[[], AuditStore],
    *,
    skip_namespaces: frozenset[str] = frozenset(),
    name: str = "governance_schema_changes",
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """Every ``INTERVAL_SECONDS``, the schema changes of every table (but scratch copies)."""

    @dg.sensor(
        name=name,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=default_status,
        description="Records every Iceberg table's schema changes (old and new schema, the "
        "classified changes, the run) in the audit trail",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        seen: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        store = audit_store()
        try:
            written = record_schema_changes(catalog(), store, seen, skip_namespaces=skip_namespaces)
        finally:
            store.close()
        context.update_cursor(json.dumps(seen, sort_keys=True))
        return dg.SkipReason(f"{written} schema change(s) recorded over {len(seen)} table(s)")

    return _sensor
