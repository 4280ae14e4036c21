"""Snapshot expiry that frees storage.

pyiceberg's ``expire_snapshots`` only edits metadata. Here the expired snapshots are removed in
one commit (retried on conflicts), then the table is read again from the catalog and every
manifest list, manifest and data file that the old metadata reached and the new one does not
is deleted. Reading the new metadata after the commit means a snapshot committed concurrently
is accounted for, and tags, branch heads and young snapshots are never in the expired set.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table
from pyiceberg.table.update.snapshot import ExpireSnapshots

from lakehouse.iceberg.commits import CachedTransaction, retry_on_conflict
from lakehouse.upkeep.rules import TableRules
from lakehouse.upkeep.snapshots.reachability import (
    History,
    load_history,
    retained_snapshots,
    unreachable_files,
)

log = logging.getLogger(__name__)

Selector = Callable[[History], set[int]]


@dataclass
class ExpiryResult:
    table: str
    expired: list[int] = field(default_factory=list)
    deleted_files: list[str] = field(default_factory=list)
    bytes_freed: int = 0


def by_rules(rules: TableRules, now: dt.datetime) -> Selector:
    """Select snapshots outside the retention window and beyond the last ``min_keep``."""

    def select(history: History) -> set[int]:
        keep = retained_snapshots(
            history,
            now_ms=int(now.timestamp() * 1000),
            max_age_ms=int(rules.snapshot_max_age.total_seconds() * 1000),
            min_keep=rules.snapshot_min_keep,
        )
        return set(history.snapshots) - keep

    return select


def _expire(table: Table, snapshot_ids: set[int]) -> None:
    txn = CachedTransaction(table)
    ExpireSnapshots(txn).by_ids(sorted(snapshot_ids)).commit()
    txn.commit_transaction()


def expire_snapshots(
    catalog: Catalog,
    identifier: tuple[str, ...],
    select: Selector,
    *,
    timeout_seconds: float = 120.0,
    dry_run: bool = False,
) -> ExpiryResult:
    """Expire the snapshots ``select`` picks (never refs), then delete what they alone reached."""
    cache: dict[str, object] = {}
    result = ExpiryResult(".".join(identifier))
    state: dict[str, History] = {}

    def change(current: Table) -> set[int]:
        history = load_history(current, cache)
        protected = set(history.tags.values()) | set(history.branches.values())
        expired = select(history) - protected
        state["before"] = history
        if expired and not dry_run:
            _expire(current, expired)
        return expired

    table, expired = retry_on_conflict(catalog, identifier, change, timeout_seconds=timeout_seconds)
    result.expired = sorted(expired)
    if not expired:
        return result
    before = state["before"]
    if dry_run:
        after = History(
            {i: s for i, s in before.snapshots.items() if i not in expired},
            before.branches,
            before.tags,
            before.manifests,
            before.live_files,
        )
    else:
        after = load_history(catalog.load_table(identifier), cache)
    doomed = sorted(unreachable_files(before, after))
    result.deleted_files = doomed
    if dry_run:
        return result
    for path in doomed:
        try:
            result.bytes_freed += len(table.io.new_input(path))
            table.io.delete(path)
        except FileNotFoundError:
            continue
    log.info("%s: expired %d snapshots, deleted %d files", result.table, len(expired), len(doomed))
    return result


def expire_table(
    catalog: Catalog,
    identifier: tuple[str, ...],
    rules: TableRules,
    now: dt.datetime | None = None,
    *,
    timeout_seconds: float = 120.0,
    dry_run: bool = False,
) -> ExpiryResult:
    """Apply the table's retention rules (age window and minimum count per branch)."""
    now = now or dt.datetime.now(dt.UTC)
    return expire_snapshots(
        catalog, identifier, by_rules(rules, now), timeout_seconds=timeout_seconds, dry_run=dry_run
    )
