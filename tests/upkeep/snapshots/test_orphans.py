"""Orphan removal: unreferenced old files go, files of an in-flight commit are protected."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from upkeep_tables import committed_at, events, rows_of

from lakehouse.iceberg.commits import CommitPlan, commit
from lakehouse.iceberg.files import write_data_files
from lakehouse.upkeep.rules import rules_for
from lakehouse.upkeep.snapshots.orphans import remove_orphans

TABLE = ("raw", "events")


def _old_orphan(table, days: int = 10) -> Path:
    """A file no snapshot names, last written ``days`` before the table's newest commit."""
    path = Path(table.location().removeprefix("file://")) / "data" / "leftover-from-a-crash.parquet"
    pq.write_table(pa.table({"x": [1]}), path)
    past = (committed_at(table) - dt.timedelta(days=days)).timestamp()
    os.utime(path, (past, past))
    return path


def _written_at(uri: str) -> dt.datetime:
    """A file's modification time: the instant the safety window counts from, not the clock's."""
    return dt.datetime.fromtimestamp(Path(uri.removeprefix("file://")).stat().st_mtime, dt.UTC)


def test_dry_run_lists_old_orphans_then_removal_deletes_only_them(
    catalog, settings, append, storage
):
    for batch in range(3):
        append(events(batch * 10, 10))
    table = catalog.load_table(TABLE)
    orphan = _old_orphan(table)
    rows = rows_of(table)
    rules = rules_for(settings, TABLE)

    now = committed_at(table)

    listed = remove_orphans(catalog, TABLE, rules, storage, now=now, dry_run=True)
    assert [e.uri for e in listed.orphans] == [orphan.as_uri()]
    assert orphan.exists() and listed.deleted == 0

    removed = remove_orphans(catalog, TABLE, rules, storage, now=now)
    assert removed.deleted == 1 and not orphan.exists()
    assert rows_of(catalog.load_table(TABLE)) == rows


def test_files_of_an_in_flight_commit_are_protected_by_the_window(
    catalog, settings, append, storage
):
    append(events(0, 10))
    table = catalog.load_table(TABLE)
    in_flight = write_data_files(table, events(100, 10))  # written, not yet committed
    rules = rules_for(settings, TABLE)

    result = remove_orphans(catalog, TABLE, rules, storage, now=_written_at(in_flight[0].file_path))

    assert result.orphans == [] and result.young_unreferenced == len(in_flight)
    commit(catalog, TABLE, CommitPlan(data_files=tuple(in_flight)), timeout_seconds=10, table=table)
    assert [r[0] for r in rows_of(catalog.load_table(TABLE))] == [*range(10), *range(100, 110)]

    # Past the window the same unreferenced files would be orphans: the window is the guard.
    stray = write_data_files(catalog.load_table(TABLE), events(200, 1))
    later = _written_at(stray[0].file_path) + rules.orphan_safety_window + dt.timedelta(hours=1)
    dry = remove_orphans(catalog, TABLE, rules, storage, now=later, dry_run=True)
    assert [e.uri for e in dry.orphans] == [stray[0].file_path]
