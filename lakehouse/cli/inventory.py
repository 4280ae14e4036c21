"""``lakehouse tables``: what the catalog holds, one row per table with its size, read from
snapshot summaries (no scans), and its branches: an audit branch past its retention is flagged
(upkeep removes it; one left behind means upkeep is not running)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table


def table_stats(table: Table) -> dict[str, Any]:
    """Rows, files and bytes of the current snapshot, read from its summary totals."""
    snapshot = table.current_snapshot()
    summary = snapshot.summary if snapshot and snapshot.summary else None

    def total(key: str) -> int:
        return (
            int(summary.additional_properties[key])
            if summary is not None and key in summary.additional_properties
            else 0
        )

    return {
        "rows": total("total-records"),
        "data_files": total("total-data-files"),
        "bytes": total("total-files-size"),
        "snapshots": len(table.metadata.snapshots),
        "snapshot_id": snapshot.snapshot_id if snapshot else None,
        "metadata_location": table.metadata_location,
        "branches": sorted(name for name in table.metadata.refs if name != "main"),
    }


def list_tables(
    catalog: Catalog,
    namespaces: list[str] | None = None,
    *,
    branch_retention: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Every table in ``namespaces`` (default: all), sorted by namespace then name; with
    ``branch_retention``, the audit branches older than it as ``stale_branches``."""
    from lakehouse.upkeep.snapshots.audit_branches import stale_audit_branches

    names = namespaces or [".".join(ns) for ns in catalog.list_namespaces()]
    rows = []
    for namespace in sorted(names):
        for identifier in sorted(catalog.list_tables(namespace)):
            table = catalog.load_table(identifier)
            row = {"namespace": namespace, "table": identifier[-1]} | table_stats(table)
            if branch_retention is not None:
                at = now or dt.datetime.now(dt.UTC)
                row["stale_branches"] = stale_audit_branches(table, branch_retention, at)
            rows.append(row)
    return rows


def print_tables(*, as_json: bool) -> int:
    """``lakehouse tables``: one line (or JSON object) per table of the configured catalog."""
    from lakehouse.catalog import get_catalog
    from lakehouse.settings import get_settings

    retention = dt.timedelta(hours=get_settings().audit_branch_retention_hours)
    rows = list_tables(get_catalog(), branch_retention=retention)
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        stale = set(row["stale_branches"])
        flagged = [f"{b} (past retention)" if b in stale else b for b in row["branches"]]
        row["branches"] = ", ".join(flagged) or "-"
    header = (
        *("namespace", "table", "rows", "data_files", "bytes", "snapshots", "branches"),
        "metadata_location",
    )
    widths = [max([len(h), *(len(str(r[h])) for r in rows)]) for h in header]
    for line in (header, *(tuple(str(r[h]) for h in header) for r in rows)):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    return 0
