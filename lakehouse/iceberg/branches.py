"""Audit branches: where a write waits until its checks pass, and how it reaches ``main``.

A write-audit-publish write starts ``audit/<run id>`` at main's head and commits there, so no
reader of ``main`` (pyiceberg, DuckDB's ``iceberg_scan`` of the metadata file, Trino, Spark)
sees it. Publishing is a fast-forward: ``main`` moves to the branch head only if main's head is
still an ancestor of it, checked by the catalog itself (an ``assert-ref-snapshot-id``
requirement), so a commit someone else made to ``main`` meanwhile is never overwritten.
"""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.manifest import ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType
from pyiceberg.table.snapshots import Snapshot, ancestors_of

AUDIT_PREFIX = "audit/"


class MainMovedError(RuntimeError):
    """``main`` is no longer an ancestor of the audit branch: a fast-forward would drop a commit."""


class NoSuchBranchError(LookupError):
    """The table has no branch of that name (it was published, removed by upkeep, or never made)."""


def audit_branch(run_id: str) -> str:
    """The audit branch of one Dagster run; a table holds at most one per run."""
    return f"{AUDIT_PREFIX}{run_id}"


def is_audit_branch(name: str) -> bool:
    return name.startswith(AUDIT_PREFIX)


def branch_head(table: Table, name: str) -> Snapshot | None:
    ref = table.metadata.refs.get(name)
    if ref is None or ref.snapshot_ref_type != SnapshotRefType.BRANCH:
        return None
    return table.metadata.snapshot_by_id(ref.snapshot_id)


def start_branch(table: Table, name: str) -> None:
    """Point ``name`` at main's head (or drop it while main is empty, so the write starts it):
    idempotent, so a retried step restarts its branch instead of stacking on an earlier try."""
    main = table.current_snapshot()
    current = table.metadata.refs.get(name)
    if main is None:
        if current is not None:
            table.manage_snapshots().remove_branch(name).commit()
    elif current is None or current.snapshot_id != main.snapshot_id:
        table.manage_snapshots().create_branch(main.snapshot_id, name).commit()


def fast_forward(table: Table, name: str, *, keep_branch: bool = False) -> Snapshot:
    """Move ``main`` to the head of ``name`` and drop the branch, in one catalog commit.

    Raises ``MainMovedError`` when main's head is not an ancestor of the branch head; the
    commit's requirement makes the catalog refuse it too if main moves after this check.
    """
    head = branch_head(table, name)
    if head is None:
        raise NoSuchBranchError(f"{'.'.join(table.name())} has no branch {name!r}")
    main = table.current_snapshot()
    lineage = {snapshot.snapshot_id for snapshot in ancestors_of(head, table.metadata)}
    if main is not None and main.snapshot_id not in lineage:
        raise MainMovedError(
            f"{'.'.join(table.name())}: main moved to snapshot {main.snapshot_id} while "
            f"branch {name!r} (head {head.snapshot_id}) was audited"
        )
    with table.manage_snapshots() as refs:
        if main is None or main.snapshot_id != head.snapshot_id:
            refs.create_branch(head.snapshot_id, MAIN_BRANCH)
        if not keep_branch:
            refs.remove_branch(name)
    return head


def remove_branch(table: Table, name: str) -> bool:
    """Drop the branch ref (its snapshots go at the next expiry); False if it was not there."""
    if name not in table.metadata.refs:
        return False
    table.manage_snapshots().remove_branch(name).commit()
    return True


def added_files(table: Table, snapshot: Snapshot) -> set[str]:
    """Paths of the data files ``snapshot`` itself added: the batch of an append commit."""
    paths: set[str] = set()
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            if (
                entry.status == ManifestEntryStatus.ADDED
                and entry.snapshot_id == snapshot.snapshot_id
            ):
                paths.add(entry.data_file.file_path)
    return paths


def read_branch(
    catalog: Catalog,
    identifier: str | tuple[str, ...],
    name: str,
    row_filter: BooleanExpression | None = None,
) -> pa.Table:
    """Read a branch (an audit branch to debug a rejected batch); readers get ``main`` otherwise."""
    table = catalog.load_table(identifier)
    head = branch_head(table, name)
    if head is None:
        branches = sorted(
            n for n, r in table.refs().items() if r.snapshot_ref_type == SnapshotRefType.BRANCH
        )
        raise NoSuchBranchError(
            f"{'.'.join(table.name())} has no branch {name!r}; branches: {', '.join(branches)}"
        )
    return table.scan(
        row_filter=row_filter or AlwaysTrue(), snapshot_id=head.snapshot_id
    ).to_arrow()
