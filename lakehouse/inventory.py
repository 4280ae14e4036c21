"""What the catalog holds: one row per table with its size, from snapshot summaries (no scans)."""

from __future__ import annotations

from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table


def table_stats(table: Table) -> dict[str, Any]:
    """Rows, files and bytes of the current snapshot, read from its summary totals."""
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot and snapshot.summary else None

    def total(key: str) -> int:
        return (
            int(summary[key]) if summary is not None and key in summary.additional_properties else 0
        )

    return {
        "rows": total("total-records"),
        "data_files": total("total-data-files"),
        "bytes": total("total-files-size"),
        "snapshots": len(table.metadata.snapshots),
        "snapshot_id": snapshot.snapshot_id if snapshot else None,
        "metadata_location": table.metadata_location,
    }


def list_tables(catalog: Catalog, namespaces: list[str] | None = None) -> list[dict[str, Any]]:
    """Every table in ``namespaces`` (default: all), sorted by namespace then name."""
    names = namespaces or [".".join(ns) for ns in catalog.list_namespaces()]
    rows = []
    for namespace in sorted(names):
        for identifier in sorted(catalog.list_tables(namespace)):
            table = catalog.load_table(identifier)
            rows.append({"namespace": namespace, "table": identifier[-1]} | table_stats(table))
    return rows
