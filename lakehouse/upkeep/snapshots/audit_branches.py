"""Removal of stale audit branches: a rejected batch stays inspectable, then goes.

A published audit branch is dropped at once; a rejected one (``audit/<run id>``) is kept for
``LAKEHOUSE_AUDIT_BRANCH_RETENTION_HOURS`` after its last commit. Removing the ref is all this
does: the snapshot expiry that runs next drops its snapshots and deletes the files only they
reached, while the files of every branch still kept stay reachable (``reachability.py``).
"""

from __future__ import annotations

import datetime as dt

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse.iceberg.branches import branch_head, is_audit_branch
from lakehouse.iceberg.commits import retry_on_conflict


def stale_audit_branches(table: Table, max_age: dt.timedelta, now: dt.datetime) -> list[str]:
    """Audit branches whose head was committed before ``now - max_age``."""
    cutoff_ms = int((now - max_age).timestamp() * 1000)
    stale = []
    for name in table.metadata.refs:
        head = branch_head(table, name)
        if is_audit_branch(name) and head is not None and head.timestamp_ms < cutoff_ms:
            stale.append(name)
    return sorted(stale)


def remove_stale_audit_branches(
    catalog: Catalog,
    identifier: tuple[str, ...],
    max_age: dt.timedelta,
    now: dt.datetime | None = None,
    *,
    timeout_seconds: float = 120.0,
) -> list[str]:
    """Drop the table's stale audit branches in one commit; return their names."""
    now = now or dt.datetime.now(dt.UTC)

    def change(table: Table) -> list[str]:
        names = stale_audit_branches(table, max_age, now)
        if names:
            with table.manage_snapshots() as refs:
                for name in names:
                    refs.remove_branch(name)
        return names

    _, removed = retry_on_conflict(catalog, identifier, change, timeout_seconds=timeout_seconds)
    return removed
