"""``lakehouse tables`` shows each table's branches and flags audit branches past retention."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from lakehouse.cli.inventory import list_tables
from lakehouse.iceberg.branches import audit_branch

DAY = dt.timedelta(days=1)


def test_branches_are_listed_and_old_audit_branches_flagged(catalog):
    catalog.create_namespace_if_not_exists("raw")
    table = catalog.create_table(("raw", "t"), schema=pa.schema([pa.field("id", pa.int64())]))
    table.append(pa.table({"id": pa.array([1], pa.int64())}))
    head = table.current_snapshot().snapshot_id
    stale, kept = audit_branch("old-run"), "release-2026"
    with table.manage_snapshots() as refs:
        refs.create_branch(head, stale)
        refs.create_branch(head, kept)
    (fresh,) = list_tables(catalog, ["raw"], branch_retention=DAY)
    assert fresh["branches"] == sorted([stale, kept]) and fresh["stale_branches"] == []
    made = dt.datetime.fromtimestamp(table.current_snapshot().timestamp_ms / 1000, dt.UTC)
    later = made + 2 * DAY  # the branches' age counts from their snapshot, not the calendar
    (row,) = list_tables(catalog, ["raw"], branch_retention=DAY, now=later)
    assert row["stale_branches"] == [stale]  # a branch of another name is no audit's
